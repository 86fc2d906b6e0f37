"""The unrecognised-utterances report: fallback utterances grouped into suggested new intents.

Utterances are embedded with the shared sentence model and grouped by average-linkage
agglomerative clustering under a cosine-distance cut, so the number of groups follows
the data rather than a guess. Each group is named after its most distinctive words.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from aiflywheel.kinds.bot.nlu import Embed

DISTANCE_CUT = 0.45  # cosine distance: paraphrases sit under ~0.3, different requests above ~0.6


@dataclass(frozen=True)
class Suggestion:
    """A group of unrecognised utterances that could become an intent."""

    suggested_intent: str
    count: int
    examples: list[str]


def suggest_intents(texts: list[str], embed: Embed, min_count: int = 2, examples: int = 5) -> list[Suggestion]:
    """Groups of at least ``min_count`` utterances, largest first; repeated utterances count each time."""
    counts = Counter(text.strip().lower() for text in texts if text and text.strip())
    unique = list(counts)
    if len(unique) < 2:
        return (
            [Suggestion(_name(unique), counts[unique[0]], unique)] if unique and counts[unique[0]] >= min_count else []
        )
    vectors = embed(unique)
    labels = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=DISTANCE_CUT
    ).fit_predict(vectors)
    suggestions = []
    for label in np.unique(labels):
        members = [unique[i] for i in np.flatnonzero(labels == label)]
        total = sum(counts[text] for text in members)
        if total >= min_count:
            members.sort(key=lambda text: -counts[text])
            suggestions.append(Suggestion(_name(members), total, members[:examples]))
    return sorted(suggestions, key=lambda suggestion: -suggestion.count)


def _name(texts: list[str]) -> str:
    """The two words most typical of the group (TF-IDF weight summed over its utterances)."""
    try:
        vectorizer = TfidfVectorizer(stop_words=list(ENGLISH_STOP_WORDS), token_pattern=r"[a-z]{3,}")
        weights = np.asarray(vectorizer.fit_transform(texts).sum(axis=0)).ravel()
    except ValueError:  # only stop words
        return "new_intent"
    words = vectorizer.get_feature_names_out()[np.argsort(-weights)[:2]]
    return "_".join(words) or "new_intent"
