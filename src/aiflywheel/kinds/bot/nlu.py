"""Intent classification with no tuning: shared sentence embeddings plus TF-IDF, one logistic regression.

Why both feature sets: MiniLM embeddings carry meaning across paraphrases, TF-IDF word
and character n-grams carry the exact words that separate near-identical intents
("freeze my card" vs "card blocked"); stacked, one linear model uses both.

Out of scope: an utterance is rejected when its score falls under a threshold that
training calibrates on the training utterances alone: out-of-fold predictions give the
scores of in-scope utterances the model has not seen, and the threshold is the quantile
that keeps ``in_scope_rejection`` of them out. The score blends the classifier's
probability with the cosine similarity to the nearest training utterance, which is
what separates "none of these" from "two of these are close".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

Embed = Callable[[list[str]], np.ndarray]

EMBEDDING_WEIGHT = 2.0  # scale of the unit embedding against the unit TF-IDF rows
NEIGHBOUR_WEIGHT = 0.5  # share of nearest-neighbour similarity in the out-of-scope score


@dataclass(frozen=True)
class Ranked:
    """The classifier's answer for one utterance."""

    intent: str | None  # None: out of scope
    confidence: float  # the winning intent's probability
    score: float  # what the threshold is compared with
    ranking: list[tuple[str, float]]  # the best intents and their probabilities


class IntentClassifier:
    """Fit on (text, intent) pairs; ``rank`` answers intent, confidence and whether it is out of scope."""

    def __init__(self, embed: Embed, in_scope_rejection: float = 0.04, regularization: float = 20.0, folds: int = 2):
        self.embed = embed
        self.in_scope_rejection = in_scope_rejection
        self.regularization = regularization
        self.folds = folds
        self.threshold_: float = 0.0
        self.cross_validated_accuracy_: float | None = None  # out-of-fold, before rejection
        self.cross_validated_rejection_: float | None = None  # out-of-fold in-scope share rejected

    def fit(self, texts: Sequence[str], intents: Sequence[str], vectors: np.ndarray | None = None) -> IntentClassifier:
        texts = [str(text) for text in texts]
        labels = np.asarray(intents)
        vectors = self.embed(texts) if vectors is None else vectors
        self.vectorizer_, self.model_ = self._fit_model(texts, labels, vectors)
        self._blocks = None
        self.train_vectors_ = vectors
        self.threshold_ = self._calibrate(texts, labels, vectors)
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
        probabilities = self._probabilities(texts, vectors)
        nearest = self._nearest(vectors, self.train_vectors_)
        classes = self.model_.classes_
        answers = []
        for row, probability in enumerate(probabilities):
            keep = allowed[row] if row < len(allowed) else None
            if keep is not None:
                probability = np.where(np.isin(classes, list(keep)), probability, 0.0)
                total = probability.sum()
                probability = probability / total if total > 0 else probability
            order = np.argsort(-probability)[:top]
            best = float(probability[order[0]])
            score = _blend(best, nearest[row])
            intent = str(classes[order[0]]) if score >= self.threshold_ and best > 0 else None
            ranking = [(str(classes[index]), round(float(probability[index]), 4)) for index in order]
            answers.append(Ranked(intent, round(best, 4), round(float(score), 4), ranking))
        return answers

    def save(self, folder: Path) -> None:
        """Arrays in ``classifier.npz``, the rest in ``classifier.json``: plain data, no pickle."""
        np.savez_compressed(
            folder / "classifier.npz",
            idf=self.vectorizer_.idf_,
            coef=self.model_.coef_,
            intercept=self.model_.intercept_,
            classes=self.model_.classes_.astype(str),
            train_vectors=self.train_vectors_,
        )
        settings = {
            "vocabulary": {term: int(index) for term, index in self.vectorizer_.vocabulary_.items()},
            "threshold": self.threshold_,
            "in_scope_rejection": self.in_scope_rejection,
            "regularization": self.regularization,
            "folds": self.folds,
            "cross_validated_accuracy": self.cross_validated_accuracy_,
            "cross_validated_rejection": self.cross_validated_rejection_,
        }
        (folder / "classifier.json").write_text(json.dumps(settings), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, embed: Embed) -> IntentClassifier:
        settings = json.loads((folder / "classifier.json").read_text(encoding="utf-8"))
        with np.load(folder / "classifier.npz", allow_pickle=False) as arrays:
            classifier = cls(embed, settings["in_scope_rejection"], settings["regularization"], settings["folds"])
            classifier.vectorizer_ = _vectorizer(vocabulary=settings["vocabulary"])
            classifier.vectorizer_.idf_ = arrays["idf"]
            model = LogisticRegression(C=settings["regularization"])
            model.classes_, model.coef_, model.intercept_ = arrays["classes"], arrays["coef"], arrays["intercept"]
            model.n_features_in_ = model.coef_.shape[1]
            classifier.model_ = model
            classifier.train_vectors_ = arrays["train_vectors"]
        classifier.threshold_ = settings["threshold"]
        classifier.cross_validated_accuracy_ = settings["cross_validated_accuracy"]
        classifier.cross_validated_rejection_ = settings["cross_validated_rejection"]
        return classifier

    def _probabilities(self, texts: list[str], vectors: np.ndarray) -> np.ndarray:
        """The model's ``predict_proba``, computed block by block: a text turn is on the hot path, and
        stacking the sparse and dense features plus scikit-learn's checks cost more than the product."""
        lexical = self.vectorizer_.transform(texts)
        if getattr(self, "_blocks", None) is None:
            # Contiguous once: a strided view would be copied by every sparse product (megabytes a turn).
            width, coef = lexical.shape[1], self.model_.coef_
            self._blocks = (np.ascontiguousarray(coef[:, :width].T), np.ascontiguousarray(coef[:, width:].T))
        words, meaning = self._blocks
        logits = np.asarray(lexical @ words + (vectors * EMBEDDING_WEIGHT) @ meaning + self.model_.intercept_)
        if words.shape[1] == 1:  # two intents: one logit, for the second class
            positive = 1.0 / (1.0 + np.exp(-logits))
            return np.hstack([1.0 - positive, positive])
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def _fit_model(self, texts, labels, vectors):
        vectorizer = _vectorizer()
        vectorizer.fit(texts)
        model = LogisticRegression(C=self.regularization, max_iter=200)
        model.fit(self._features(vectorizer, texts, vectors), labels)
        return vectorizer, model

    @staticmethod
    def _features(vectorizer, texts, vectors):
        lexical = vectorizer.transform(texts)
        return sparse.hstack([lexical, sparse.csr_matrix(vectors * EMBEDDING_WEIGHT)]).tocsr()

    @staticmethod
    def _nearest(vectors: np.ndarray, reference: np.ndarray) -> np.ndarray:
        best = np.full(len(vectors), -1.0, dtype=np.float32)
        for start in range(0, len(reference), 4096):
            similarity = vectors @ reference[start : start + 4096].T
            best = np.maximum(best, similarity.max(axis=1))
        return best

    def _calibrate(self, texts, labels, vectors) -> float:
        """The score quantile that rejects ``in_scope_rejection`` of unseen in-scope utterances.

        Intents with a single utterance cannot be held out: they stay in every fold's training.
        """
        classes, counts = np.unique(labels, return_counts=True)
        rows = np.flatnonzero(np.isin(labels, classes[counts >= 2]))
        always = np.flatnonzero(~np.isin(labels, classes[counts >= 2]))
        folds = min(self.folds, int(counts[counts >= 2].min())) if len(rows) else 0
        if folds < 2 or len(classes[counts >= 2]) < 2:
            # Too little data to hold any out: reject nothing rather than guess; accuracy is on training.
            predicted = self.model_.predict(self._features(self.vectorizer_, texts, vectors))
            self.cross_validated_accuracy_ = round(float((predicted == labels).mean()), 4)
            self.cross_validated_rejection_ = 0.0
            return 0.0
        scores = np.zeros(len(rows), dtype=np.float32)
        predicted = np.empty(len(rows), dtype=object)
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
        for fit_part, held_part in splitter.split(rows, labels[rows]):
            fit_rows, held_rows = np.concatenate([rows[fit_part], always]), rows[held_part]
            fit_texts = [texts[i] for i in fit_rows]
            held_texts = [texts[i] for i in held_rows]
            vectorizer, model = self._fit_model(fit_texts, labels[fit_rows], vectors[fit_rows])
            probability = model.predict_proba(self._features(vectorizer, held_texts, vectors[held_rows]))
            nearest = self._nearest(vectors[held_rows], vectors[fit_rows])
            scores[held_part] = _blend(probability.max(axis=1), nearest)
            predicted[held_part] = model.classes_[probability.argmax(axis=1)]
        threshold = float(np.quantile(scores, self.in_scope_rejection))
        self.cross_validated_accuracy_ = round(float((predicted == labels[rows]).mean()), 4)
        self.cross_validated_rejection_ = round(float((scores < threshold).mean()), 4)
        return threshold


def _vectorizer(vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, vocabulary=vocabulary)


def _blend(probability, nearest):
    return (1.0 - NEIGHBOUR_WEIGHT) * probability + NEIGHBOUR_WEIGHT * nearest
