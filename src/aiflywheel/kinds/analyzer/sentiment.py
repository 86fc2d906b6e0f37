"""Sentiment with no training by the user: VADER's rules plus a sentence-embedding head trained on VADER's lexicon.

VADER (``vaderSentiment``, MIT) scores words from its 7,500-entry human-rated lexicon
with rules for negation, boosters and "but"; it misses sentiment carried by words it
does not list ("the battery died after a week"). The head is a logistic regression on
all-MiniLM-L6-v2 vectors of short sentences made from the lexicon's rated words ("It
was awful.", "The service was awful."), labelled by the sign of the human rating, so it generalises by meaning
to words and phrasings VADER lacks. Its weights (``sentiment_head.json``, 384 floats)
are built by ``fit_lexicon_head`` (``scripts/sentiment-head``) from the lexicon inside
the wheel: nothing from any evaluation set is used. The two standardised scores are
added; positive/negative come from their sum, neutral and mixed from VADER's
proportions of neutral and of opposite-polarity words when the sum is weak.

A user's labelled reviews replace this with a head trained on them (``Head``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from aiflywheel.errors import KindFailed

LABELS = ("positive", "negative", "neutral", "mixed")
HEAD_FILE = Path(__file__).with_name("sentiment_head.json")
# Rated words alone and in short review-like sentences, so the head sees them the way reviews use them.
TEMPLATES = ("{}", "It was {}.", "The product is {}.", "The service was {}.", "The movie was {}.")
REGULARIZATION = 0.03  # C of the logistic regression: strong, the sentences are many and near-duplicate
VADER_WEIGHT = 0.5
MIN_RATING = 1.0  # lexicon words rated closer to 0 than this are too weak to teach polarity


@dataclass(frozen=True)
class LexiconHead:
    weights: np.ndarray
    bias: float
    head_scale: float  # standard deviations of each score on the lexicon sentences, to add them on one scale
    vader_scale: float
    vader_weight: float

    def to_json(self) -> str:
        return json.dumps(
            {
                "weights": [round(float(w), 6) for w in self.weights],
                "bias": self.bias,
                "head_scale": self.head_scale,
                "vader_scale": self.vader_scale,
                "vader_weight": self.vader_weight,
                "built_from": f"vaderSentiment lexicon words rated |v| >= {MIN_RATING}, in {list(TEMPLATES)}",
            }
        )

    @classmethod
    def from_file(cls, path: Path = HEAD_FILE) -> LexiconHead:
        raw = json.loads(path.read_text())
        return cls(
            np.asarray(raw["weights"], dtype=np.float32),
            float(raw["bias"]),
            float(raw["head_scale"]),
            float(raw["vader_scale"]),
            float(raw["vader_weight"]),
        )


class BuiltinSentiment:
    """positive / negative / neutral / mixed with scores summing to 1, from VADER and the lexicon head."""

    def __init__(self, head: LexiconHead | None = None) -> None:
        try:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
        except ImportError as exc:
            raise KindFailed(f"sentiment needs vaderSentiment (a dependency of aiflywheel): {exc}") from exc
        self._vader = SentimentIntensityAnalyzer()
        self._head = head or LexiconHead.from_file()

    def polarity(self, texts: list[str], vectors: np.ndarray) -> tuple[np.ndarray, list[dict[str, float]]]:
        """The combined polarity score (> 0 positive) and VADER's raw scores, per text."""
        vader = [self._vader.polarity_scores(text) for text in texts]
        compound = np.array([v["compound"] for v in vader])
        head = vectors @ self._head.weights + self._head.bias
        combined = head / self._head.head_scale + self._head.vader_weight * compound / self._head.vader_scale
        return combined, vader


def labelled(polarity: float, vader: dict[str, float]) -> dict:
    """The label and the four scores from the combined polarity and VADER's word proportions."""
    positive = 1.0 / (1.0 + math.exp(-polarity))
    certainty = abs(2.0 * positive - 1.0)  # 0 when the evidence is balanced or absent
    both_ways = 2.0 * min(vader["pos"], vader["neg"]) / max(vader["pos"] + vader["neg"], 1e-9)
    mixed = (1.0 - certainty) * both_ways * min(1.0, 4.0 * min(vader["pos"], vader["neg"]))
    neutral = (1.0 - certainty) * vader["neu"] * (1.0 - both_ways) if vader["pos"] + vader["neg"] < 0.1 else 0.0
    polar = 1.0 - mixed - neutral
    scores = {
        "positive": polar * positive,
        "negative": polar * (1.0 - positive),
        "neutral": neutral,
        "mixed": mixed,
    }
    label = max(scores, key=scores.__getitem__)
    return {"label": label, "scores": {k: round(v, 4) for k, v in scores.items()}}


def fit_lexicon_head(embed, c: float = REGULARIZATION, vader_weight: float = VADER_WEIGHT) -> LexiconHead:
    """Train the lexicon head from the lexicon shipped in ``vaderSentiment`` (about 28,000 short sentences)."""
    from sklearn.linear_model import LogisticRegression
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    lexicon = SentimentIntensityAnalyzer().lexicon
    words = sorted(w for w, rating in lexicon.items() if abs(rating) >= MIN_RATING and w.isalpha())
    sentences = [template.format(w) for template in TEMPLATES for w in words]
    positive = np.array([lexicon[w] > 0 for _ in TEMPLATES for w in words])
    vectors = embed(sentences)
    model = LogisticRegression(C=c, max_iter=2000).fit(vectors, positive)
    head = model.decision_function(vectors)
    vader = SentimentIntensityAnalyzer()
    compound = np.array([vader.polarity_scores(s)["compound"] for s in sentences])
    return LexiconHead(
        model.coef_[0].astype(np.float32),
        float(model.intercept_[0]),
        float(np.std(head)),
        float(np.std(compound)),
        vader_weight,
    )


@lru_cache(maxsize=1)
def builtin_sentiment() -> BuiltinSentiment:
    return BuiltinSentiment()
