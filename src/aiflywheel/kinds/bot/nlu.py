"""Intent classification with no tuning: shared sentence embeddings plus TF-IDF, a linear head, a neighbour vote.

Why these pieces:

- MiniLM embeddings carry meaning across paraphrases; TF-IDF word 1–2-grams and
  character 2–5-grams carry the exact words (and their misspellings) that separate
  near-identical intents ("freeze my card" vs "card blocked"). Stacked, one linear
  support-vector head uses both. A second linear head on the TF-IDF part alone takes
  ``LEXICAL_WEIGHT`` of the heads' probability: in the stacked head the embedding
  dominates, and the words' own verdict, blended in, corrects some of its near misses.
- Each head's margins become probabilities through a temperature calibrated on
  out-of-fold margins (the one that minimises their log loss), so ``confidence`` means
  what it says without a second model.
- The five nearest training utterances vote (weighted by their similarity) and the vote
  takes ``VOTE_WEIGHT`` of the probability: it recovers utterances the linear head
  blurs, and a corrected utterance that became training data is answered as corrected.

Out of scope: an utterance is rejected when its score falls under a threshold that
training calibrates on the training utterances alone: out-of-fold predictions give the
scores of in-scope utterances the model has not seen, and the threshold is the quantile
that keeps ``in_scope_rejection`` of them out. When training also has examples of
out-of-scope utterances (at least ``FEW_OUT_OF_SCOPE``), the threshold aims at the
operating point instead: the lowest score that still rejects ``out_of_scope_recall`` of
them, which keeps the most in-scope utterances at that recall. The
score blends the intent probability with the cosine similarity to the nearest training
utterance, which is what separates "none of these" from "two of these are close".

The weights, vocabularies and training vectors are saved as plain arrays and JSON (no
pickle); the shared embedding model is never copied.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.optimize import minimize_scalar
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from aiflywheel.errors import KindFailed
from aiflywheel.kinds.components.blas import blas_threads

Embed = Callable[[list[str]], np.ndarray]

FORMAT = 3  # classifier.json's layout; 2 had no lexical head (still read); 1 was a logistic regression on words
READABLE_FORMATS = (2, FORMAT)
EMBEDDING_WEIGHT = 2.0  # scale of the unit embedding against the unit TF-IDF rows
NEIGHBOUR_WEIGHT = 0.5  # share of nearest-neighbour similarity in the out-of-scope score
VOTE_WEIGHT = 0.3  # share of the nearest utterances' vote in the intent probability
LEXICAL_WEIGHT = 0.1  # share of the lexical-only head in the heads' probability (the stacked head has the rest)
VOTERS = 5  # how many nearest training utterances vote
VOTE_SHARPNESS = 0.05  # a voter's weight is exp((similarity - 1) / this): the closest count most
DEFAULT_TEMPERATURE = 0.2  # when there is too little data to calibrate (the value Banking77 calibrates to)
DEFAULT_LEXICAL_TEMPERATURE = 0.15  # the lexical head's (Banking77 calibrates it to 0.144-0.148)
FEW = 8  # up to this many utterances are compared with the training vectors on one BLAS thread
FEW_OUT_OF_SCOPE = 20  # fewer out-of-scope examples than this place no threshold: the in-scope quantile does
QUERY_BLOCK = 256  # utterances compared with the training vectors at once (bounds the similarity matrix)
LEXICONS = (  # the TF-IDF vocabularies stacked with the embedding (values: TfidfVectorizer settings)
    {"analyzer": "word", "ngram_range": (1, 2)},
    {"analyzer": "char_wb", "ngram_range": (2, 5), "min_df": 2},
)


@dataclass(frozen=True)
class Ranked:
    """The classifier's answer for one utterance."""

    intent: str | None  # None: out of scope
    confidence: float  # the winning intent's probability
    score: float  # what the threshold is compared with
    ranking: list[tuple[str, float]]  # the best intents and their probabilities


class Lexicon:
    """Fitted TF-IDF vocabularies side by side, transformed by hand.

    The numbers are scikit-learn's (sublinear term frequency times idf, each vocabulary's
    part of a row L2-normalised) but without its per-call checks, which cost more than
    the work itself for the one utterance of a text turn.
    """

    def __init__(self, settings: Sequence[dict], vocabularies: Sequence[dict[str, int]], idfs: Sequence[np.ndarray]):
        self.settings = [dict(item) for item in settings]
        self.vocabularies = list(vocabularies)
        self.idfs = [np.asarray(idf, dtype=np.float64) for idf in idfs]
        self._analyzers = [_vectorizer(item).build_analyzer() for item in self.settings]
        self._offsets = np.cumsum([0] + [len(idf) for idf in self.idfs])
        self.width = int(self._offsets[-1])

    @classmethod
    def fit(cls, texts: Sequence[str], settings: Sequence[dict] = LEXICONS) -> Lexicon:
        vocabularies, idfs = [], []
        for item in settings:
            try:
                fitted = _vectorizer(item).fit(texts)
            except ValueError:  # too few texts for min_df: this vocabulary is empty
                fitted = None
            vocabularies.append(dict(fitted.vocabulary_) if fitted else {})
            idfs.append(fitted.idf_ if fitted else np.zeros(0))
        return cls(settings, vocabularies, idfs)

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        row_ends, indices, values = [0], [], []
        for text in texts:
            stored = row_ends[-1]
            for analyze, vocabulary, idf, offset in zip(
                self._analyzers, self.vocabularies, self.idfs, self._offsets, strict=False
            ):
                counts = Counter(vocabulary[term] for term in analyze(text) if term in vocabulary)
                if not counts:
                    continue
                columns = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
                weights = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
                weights *= idf[columns]
                weights /= np.sqrt(weights @ weights)
                indices.append(columns + offset)
                values.append(weights)
                stored += len(columns)
            row_ends.append(stored)
        flat_indices = np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64)
        flat_values = np.concatenate(values) if values else np.zeros(0)
        return sparse.csr_matrix((flat_values, flat_indices, row_ends), shape=(len(texts), self.width))


@dataclass(frozen=True)
class LinearHead:
    """Fitted linear support-vector heads: margins of every intent from TF-IDF and embedding features stacked,
    and from the TF-IDF features alone (``lexical_weights``; None in files written before it existed)."""

    lexicon: Lexicon
    weights: np.ndarray  # features x intents, float32, contiguous: a turn's products read it row by row
    intercept: np.ndarray
    classes: np.ndarray
    lexical_weights: np.ndarray | None = None  # TF-IDF features x intents, float32
    lexical_intercept: np.ndarray | None = None

    @classmethod
    def fit(cls, texts: Sequence[str], labels: np.ndarray, vectors: np.ndarray, regularization: float) -> LinearHead:
        lexicon = Lexicon.fit(texts)
        lexical = lexicon.transform(texts)
        features = sparse.hstack([lexical, sparse.csr_matrix(vectors * EMBEDDING_WEIGHT)]).tocsr()
        weights, intercept, classes = _linear_svm(features, labels, regularization)
        lexical_weights = lexical_intercept = None
        if lexicon.width:  # an empty vocabulary (too few texts) leaves the stacked head alone
            lexical_weights, lexical_intercept, _ = _linear_svm(lexical, labels, regularization)
        return cls(lexicon, weights, intercept, classes, lexical_weights, lexical_intercept)

    def margins(self, texts: Sequence[str], vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The stacked head's margins and the lexical head's (None without one)."""
        width = self.lexicon.width
        # float32 like the weights: a float64 row would make scipy copy the whole weight block up to float64
        # for every product (tens of megabytes, most of a turn's time with 150 intents).
        rows = self.lexicon.transform(texts).astype(np.float32)
        stacked = np.asarray(rows @ self.weights[:width] + (vectors * EMBEDDING_WEIGHT) @ self.weights[width:])
        if self.lexical_weights is None:
            return stacked + self.intercept, None
        return stacked + self.intercept, np.asarray(rows @ self.lexical_weights) + self.lexical_intercept


class IntentClassifier:
    """Fit on (text, intent) pairs; ``rank`` answers intent, confidence and whether it is out of scope."""

    def __init__(
        self,
        embed: Embed,
        in_scope_rejection: float = 0.04,
        regularization: float = 0.5,
        folds: int = 2,
        out_of_scope_recall: float = 0.85,
    ):
        self.embed = embed
        self.in_scope_rejection = in_scope_rejection
        self.out_of_scope_recall = out_of_scope_recall
        self.regularization = regularization
        self.folds = folds
        self.threshold_: float = 0.0
        self.temperature_: float = DEFAULT_TEMPERATURE
        self.lexical_temperature_: float = DEFAULT_LEXICAL_TEMPERATURE
        self.cross_validated_accuracy_: float | None = None  # out-of-fold, before rejection
        self.cross_validated_rejection_: float | None = None  # out-of-fold in-scope share rejected
        self.out_of_scope_rejected_: float | None = None  # share of the out-of-scope examples rejected

    def fit(
        self,
        texts: Sequence[str],
        intents: Sequence[str],
        vectors: np.ndarray | None = None,
        out_of_scope: Sequence[str] = (),
        out_of_scope_vectors: np.ndarray | None = None,
    ) -> IntentClassifier:
        """Fit on (text, intent) pairs; ``out_of_scope`` utterances (no intent) only place the threshold."""
        texts = [str(text) for text in texts]
        labels = np.asarray(intents).astype(str)
        vectors = self.embed(texts) if vectors is None else vectors
        outside = [str(text) for text in out_of_scope]
        if outside and out_of_scope_vectors is None:
            out_of_scope_vectors = self.embed(outside)
        self.head_ = LinearHead.fit(texts, labels, vectors, self.regularization)
        self.train_vectors_ = np.ascontiguousarray(vectors, dtype=np.float32)
        self.train_labels_ = np.searchsorted(self.head_.classes, labels)
        self._calibrate(texts, labels, vectors, (outside, out_of_scope_vectors))
        return self

    def rank(
        self,
        texts: Sequence[str],
        vectors: np.ndarray | None = None,
        allowed: Sequence[set[str] | None] = (),
        top: int = 3,
    ) -> list[Ranked]:
        """Rank intents for each text; ``allowed[i]`` restricts text i to those intents (contexts)."""
        texts = [str(text) for text in texts]
        vectors = self.embed(texts) if vectors is None else vectors
        classes = self.head_.classes
        answers = []
        for start in range(0, len(texts), QUERY_BLOCK):
            block = slice(start, start + QUERY_BLOCK)
            probabilities, nearest = self._probabilities(texts[block], vectors[block])
            for offset, probability in enumerate(probabilities):
                row = start + offset
                keep = allowed[row] if row < len(allowed) else None
                if keep is not None:
                    probability = np.where(np.isin(classes, list(keep)), probability, 0.0)
                    total = probability.sum()
                    probability = probability / total if total > 0 else probability
                order = np.argsort(-probability)[:top]
                best = float(probability[order[0]])
                score = _blend(best, nearest[offset])
                intent = str(classes[order[0]]) if score >= self.threshold_ and best > 0 else None
                ranking = [(str(classes[index]), round(float(probability[index]), 4)) for index in order]
                answers.append(Ranked(intent, round(best, 4), round(float(score), 4), ranking))
        return answers

    def save(self, folder: Path) -> None:
        """Arrays in ``classifier.npz``, the rest in ``classifier.json``: plain data, no pickle."""
        head = self.head_
        idfs = {f"idf_{number}": idf for number, idf in enumerate(head.lexicon.idfs)}
        np.savez_compressed(
            folder / "classifier.npz",
            weights=head.weights,
            intercept=head.intercept,
            classes=head.classes,
            train_vectors=self.train_vectors_,
            train_labels=self.train_labels_,
            **idfs,
            **(
                {}
                if head.lexical_weights is None
                else {"lexical_weights": head.lexical_weights, "lexical_intercept": head.lexical_intercept}
            ),
        )
        settings = {
            "format": FORMAT,
            "lexicons": head.lexicon.settings,
            "vocabularies": head.lexicon.vocabularies,
            "threshold": self.threshold_,
            "temperature": self.temperature_,
            "lexical_temperature": self.lexical_temperature_,
            "in_scope_rejection": self.in_scope_rejection,
            "out_of_scope_recall": self.out_of_scope_recall,
            "regularization": self.regularization,
            "folds": self.folds,
            "cross_validated_accuracy": self.cross_validated_accuracy_,
            "cross_validated_rejection": self.cross_validated_rejection_,
            "out_of_scope_rejected": self.out_of_scope_rejected_,
        }
        (folder / "classifier.json").write_text(json.dumps(settings), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, embed: Embed) -> IntentClassifier:
        settings = json.loads((folder / "classifier.json").read_text(encoding="utf-8"))
        if settings.get("format") not in READABLE_FORMATS:
            raise KindFailed(
                f"the bot in {folder} was trained by an older Flywheel (classifier format "
                f"{settings.get('format', 1)}, this one reads {FORMAT}): create or retrain the bot again"
            )
        classifier = cls(
            embed,
            settings["in_scope_rejection"],
            settings["regularization"],
            settings["folds"],
            settings.get("out_of_scope_recall", 0.85),  # absent from files written before it existed
        )
        with np.load(folder / "classifier.npz", allow_pickle=False) as arrays:
            idfs = [arrays[f"idf_{number}"] for number in range(len(settings["lexicons"]))]
            lexicon = Lexicon(settings["lexicons"], settings["vocabularies"], idfs)
            lexical = [
                arrays[name] if name in arrays.files else None for name in ("lexical_weights", "lexical_intercept")
            ]
            classifier.head_ = LinearHead(lexicon, arrays["weights"], arrays["intercept"], arrays["classes"], *lexical)
            classifier.train_vectors_ = arrays["train_vectors"]
            classifier.train_labels_ = arrays["train_labels"]
        classifier.threshold_ = settings["threshold"]
        classifier.temperature_ = settings["temperature"]
        classifier.lexical_temperature_ = settings.get("lexical_temperature", DEFAULT_LEXICAL_TEMPERATURE)
        classifier.cross_validated_accuracy_ = settings["cross_validated_accuracy"]
        classifier.cross_validated_rejection_ = settings["cross_validated_rejection"]
        classifier.out_of_scope_rejected_ = settings.get("out_of_scope_rejected")
        return classifier

    def _probabilities(self, texts: list[str], vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each text's intent probabilities (head and vote blended) and its similarity to the nearest utterance."""
        stacked, lexical = self.head_.margins(texts, vectors)
        if len(texts) <= FEW:
            # A turn's one row against the training vectors is bound by memory, not arithmetic: a second BLAS
            # thread only spins (with 15,000 utterances, 8 ms of CPU instead of 2).
            with blas_threads(1):
                similarity = vectors @ self.train_vectors_.T
        else:
            similarity = vectors @ self.train_vectors_.T
        votes = _votes(similarity, self.train_labels_, len(self.head_.classes))
        probabilities = _blend_heads(stacked, lexical, self.temperature_, self.lexical_temperature_)
        return _blend_vote(probabilities, votes), similarity.max(axis=1)

    def _calibrate(
        self, texts: list[str], labels: np.ndarray, vectors: np.ndarray, outside: tuple[list[str], np.ndarray | None]
    ) -> None:
        """Temperature and threshold from out-of-fold predictions of the training utterances.

        Each head's temperature is the one under which its held-out margins' probabilities
        have the least log loss. The threshold is the score quantile that rejects
        ``in_scope_rejection`` of the held-out utterances or, given enough out-of-scope
        examples, the lowest score that rejects ``out_of_scope_recall`` of them. Those are
        scored by the final model: it never trains on them, and fold heads (fitted on part
        of the data, so with fewer close neighbours) would score them lower than it does
        and place the threshold too low. Intents with a single utterance cannot be held
        out: they stay in every fold's training.
        """
        classes, counts = np.unique(labels, return_counts=True)
        rows = np.flatnonzero(np.isin(labels, classes[counts >= 2]))
        always = np.flatnonzero(~np.isin(labels, classes[counts >= 2]))
        folds = min(self.folds, int(counts[counts >= 2].min())) if len(rows) else 0
        self.out_of_scope_rejected_ = None
        if folds < 2 or len(classes[counts >= 2]) < 2:
            # Too little data to hold any out: reject nothing rather than guess; accuracy is on training.
            probabilities, _ = self._probabilities(texts, vectors)
            self.cross_validated_accuracy_ = round(float((classes[probabilities.argmax(axis=1)] == labels).mean()), 4)
            self.cross_validated_rejection_ = 0.0
            self.threshold_ = 0.0
            return
        margins = np.zeros((len(rows), len(classes)))
        lexical_margins = np.full((len(rows), len(classes)), -np.inf)
        every_fold_lexical = self.head_.lexical_weights is not None
        votes = np.zeros((len(rows), len(classes)))
        nearest = np.zeros(len(rows))
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
        for fit_part, held_part in splitter.split(rows, labels[rows]):
            fit_rows, held_rows = np.concatenate([rows[fit_part], always]), rows[held_part]
            fit_texts = [texts[i] for i in fit_rows]
            head = LinearHead.fit(fit_texts, labels[fit_rows], vectors[fit_rows], self.regularization)
            columns = np.searchsorted(classes, head.classes)  # every intent is in every fold; mapped to be sure
            stacked, lexical = head.margins([texts[i] for i in held_rows], vectors[held_rows])
            margins[held_part] = -np.inf
            margins[np.ix_(held_part, columns)] = stacked
            if lexical is None:  # this fold's vocabulary came out empty: calibrate the stacked head alone
                every_fold_lexical = False
            else:
                lexical_margins[np.ix_(held_part, columns)] = lexical
            similarity = vectors[held_rows] @ vectors[fit_rows].T
            votes[held_part] = _votes(similarity, np.searchsorted(classes, labels[fit_rows]), len(classes))
            nearest[held_part] = similarity.max(axis=1)
        truth = np.searchsorted(classes, labels[rows])
        self.temperature_ = _temperature(margins, truth)
        if every_fold_lexical:
            self.lexical_temperature_ = _temperature(lexical_margins, truth)
        else:
            lexical_margins = None
        probabilities = _blend_heads(margins, lexical_margins, self.temperature_, self.lexical_temperature_)
        probabilities = _blend_vote(probabilities, votes)
        scores = _blend(probabilities.max(axis=1), nearest)
        outside_texts, outside_vectors = outside
        if len(outside_texts) >= FEW_OUT_OF_SCOPE:
            outside_probabilities, outside_nearest = self._probabilities(outside_texts, outside_vectors)
            outside_scores = _blend(outside_probabilities.max(axis=1), outside_nearest)
            # The lowest threshold that rejects the wanted share (ties at it rejected too): the most in-scope kept.
            self.threshold_ = float(np.quantile(outside_scores, self.out_of_scope_recall, method="higher")) + 1e-9
            self.out_of_scope_rejected_ = round(float((outside_scores < self.threshold_).mean()), 4)
        else:
            self.threshold_ = float(np.quantile(scores, self.in_scope_rejection))
        self.cross_validated_accuracy_ = round(float((probabilities.argmax(axis=1) == truth).mean()), 4)
        self.cross_validated_rejection_ = round(float((scores < self.threshold_).mean()), 4)


def _linear_svm(features: sparse.csr_matrix, labels: np.ndarray, regularization: float):
    """One-vs-rest linear SVM: (features x intents float32 weights, intercepts, intents)."""
    model = LinearSVC(C=regularization, random_state=0).fit(features, labels)
    coef, intercept = model.coef_, model.intercept_
    if len(model.classes_) == 2:  # one margin for the second class: split it symmetrically over both
        coef, intercept = np.vstack([-coef, coef]) / 2, np.concatenate([-intercept, intercept]) / 2
    return np.ascontiguousarray(coef.T, dtype=np.float32), intercept.astype(np.float32), model.classes_.astype(str)


def _vectorizer(settings: dict) -> TfidfVectorizer:
    options = {**settings, "ngram_range": tuple(settings["ngram_range"])}
    return TfidfVectorizer(sublinear_tf=True, dtype=np.float64, **options)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _temperature(margins: np.ndarray, truth: np.ndarray) -> float:
    """The temperature whose softmax gives the held-out margins the least log loss (temperature scaling)."""
    rows = np.arange(len(truth))

    def log_loss(log_temperature: float) -> float:
        scaled = margins / np.exp(log_temperature)
        scaled = scaled - scaled.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(scaled).sum(axis=1)) - scaled[rows, truth]))

    found = minimize_scalar(log_loss, bounds=(np.log(0.01), np.log(10.0)), method="bounded")
    return float(np.exp(found.x))


def _votes(similarity: np.ndarray, labels: np.ndarray, intents: int) -> np.ndarray:
    """Each row's nearest ``VOTERS`` training utterances vote for their intents, the closest the loudest."""
    voters = min(VOTERS, similarity.shape[1])
    nearest = np.argpartition(-similarity, voters - 1, axis=1)[:, :voters]
    rows = np.arange(len(similarity))[:, None]
    weights = np.exp((similarity[rows, nearest] - 1.0) / VOTE_SHARPNESS)
    votes = np.zeros((len(similarity), intents))
    np.add.at(votes, (np.broadcast_to(rows, nearest.shape), labels[nearest]), weights)
    return votes / np.maximum(votes.sum(axis=1, keepdims=True), 1e-12)


def _blend_heads(stacked, lexical, temperature: float, lexical_temperature: float) -> np.ndarray:
    """The stacked head's probabilities with ``LEXICAL_WEIGHT`` of the lexical head's (when there is one)."""
    probabilities = _softmax(stacked / temperature)
    if lexical is None:
        return probabilities
    return (1.0 - LEXICAL_WEIGHT) * probabilities + LEXICAL_WEIGHT * _softmax(lexical / lexical_temperature)


def _blend_vote(probabilities: np.ndarray, votes: np.ndarray) -> np.ndarray:
    return (1.0 - VOTE_WEIGHT) * probabilities + VOTE_WEIGHT * votes


def _blend(probability, nearest):
    return (1.0 - NEIGHBOUR_WEIGHT) * probability + NEIGHBOUR_WEIGHT * nearest
