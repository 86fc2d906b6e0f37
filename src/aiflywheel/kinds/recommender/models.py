"""The candidate models: popularity, item-item (BM25), EASE, ALS and BPR.

Every model scores items for a batch of users from two things: the users' histories
(a users × items sparse matrix, each entry weighted by event weight and recency) and,
for the factor models, the users' trained rows. Scoring from the history is what
lets new events change a user's recommendations at once, without retraining.

Models save to and load from plain arrays (``to_arrays``/``from_arrays``): no pickle.
ALS, BPR and BM25 come from ``implicit``; EASE (Steck, 2019) is a closed-form item-item
regression solved here with numpy.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack
from threadpoolctl import threadpool_limits

from aiflywheel.errors import KindFailed
from aiflywheel.kinds.components.blas import blas_threads

THREADS = 2
DENSE_SHARE = 0.95  # see most_taken
MIN_DENSE_ITEMS = 100


class Model:
    """Scores items for users; ``related`` scores items against one item."""

    name: ClassVar[str]

    def __init__(self, n_items: int, settings: dict[str, Any]):
        self.n_items = n_items
        self.settings = dict(settings)

    def fit(self, matrix: sp.csr_matrix) -> Model:  # users × items, event weights summed
        raise NotImplementedError

    def scores(self, history: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        """Dense rows × items; ``users`` holds each row's trained user index, or -1 for none."""
        raise NotImplementedError

    def column_scores(self, history: sp.csr_matrix, users: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """(items, their scores) when the model scores only some items, every other one scoring 0; else
        (None, ``scores``). Ranking the few spares the search a rows × catalogue matrix."""
        return None, self.scores(history, users)

    def related(self, item: int) -> np.ndarray | None:
        """Similarity of every item to ``item``, or None when the model has none for it."""
        return None

    def to_arrays(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    @classmethod
    def from_arrays(cls, n_items: int, settings: dict[str, Any], arrays: dict[str, np.ndarray]) -> Model:
        model = cls(n_items, settings)
        model._restore(arrays)
        return model

    def _restore(self, arrays: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    @property
    def uses_history(self) -> bool:
        return True


class Popularity(Model):
    """Items by their interaction count, all-time or over the latest share of events (``recent``)."""

    name = "popularity"

    def fit(self, matrix: sp.csr_matrix) -> Popularity:
        self.counts = np.asarray((matrix > 0).sum(axis=0), dtype=np.float32).ravel()
        return self

    def set_counts(self, counts: np.ndarray) -> Popularity:
        self.counts = np.asarray(counts, dtype=np.float32)
        return self

    def scores(self, history: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        return np.tile(self.counts, (history.shape[0], 1))

    @property
    def uses_history(self) -> bool:
        return False

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"counts": self.counts}

    def _restore(self, arrays: dict[str, np.ndarray]) -> None:
        self.counts = arrays["counts"]


class ItemItem(Model):
    """BM25-weighted item-item nearest neighbours (implicit's ``BM25Recommender``)."""

    name = "item_item"

    def fit(self, matrix: sp.csr_matrix) -> ItemItem:
        from implicit.nearest_neighbours import BM25Recommender

        model = BM25Recommender(K=int(self.settings.get("neighbours", 100)), B=0.75, num_threads=THREADS)
        with threadpool_limits(1, "blas"), warnings.catch_warnings():  # implicit checks every loaded BLAS
            # implicit's own BM25 weighting hands its k-NN a COO matrix, then warns about converting it
            warnings.filterwarnings("ignore", "Method expects CSR input", category=Warning)
            model.fit(_binary(matrix), show_progress=False)
        self.similarity = sp.csr_matrix(model.similarity, dtype=np.float32)
        return self

    def scores(self, history: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        return np.asarray((history @ self.similarity).todense(), dtype=np.float32)

    def related(self, item: int) -> np.ndarray:
        return self.similarity[item].toarray().ravel()

    def to_arrays(self) -> dict[str, np.ndarray]:
        s = self.similarity
        return {"data": s.data, "indices": s.indices, "indptr": s.indptr}

    def _restore(self, arrays: dict[str, np.ndarray]) -> None:
        shape = (self.n_items, self.n_items)
        self.similarity = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=shape)


class Ease(Model):
    """EASE: B = -P / diag(P), P = (XᵀX + λI)⁻¹, zero diagonal, over the most-interacted items."""

    name = "ease"

    def fit(self, matrix: sp.csr_matrix) -> Ease:
        return self.fit_system(ease_system(matrix, int(self.settings.get("max_items", 4000))))

    def fit_system(self, system: EaseSystem) -> Ease:
        """Fit from ``ease_system``'s result, which is left unchanged (the search shares it between λs)."""
        l2 = float(self.settings.get("l2", 300.0))
        gram = system.gram.copy()
        gram[np.diag_indices_from(gram)] += l2
        if system.users is None:
            weights = _spd_inverse(gram, len(system.keep))
        else:  # Woodbury: (λI + XᵀX)⁻¹ = (I − Xᵀ(λI + XXᵀ)⁻¹X) / λ, which inverts users × users instead
            users_inverse = _spd_inverse(gram, len(system.keep))
            items = system.users.T.tocsr()
            weights = np.asarray(items @ (items @ users_inverse).T, dtype=np.float32)  # XᵀMX, symmetric
            weights *= -1.0 / l2
            weights[np.diag_indices_from(weights)] += 1.0 / l2
        weights /= -np.diag(weights).copy()  # B = -P / diag(P), column by column
        np.fill_diagonal(weights, 0.0)
        self.keep = system.keep.astype(np.int64)
        self.weights = weights
        return self

    def scores(self, history: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        if len(self.keep) == self.n_items:  # every item is dense: no column selection, no scatter
            return np.asarray(history @ self.weights, dtype=np.float32)
        out = np.zeros((history.shape[0], self.n_items), dtype=np.float32)
        if len(self.keep):
            out[:, self.keep] = history[:, self.keep] @ self.weights
        return out

    def column_scores(self, history: sp.csr_matrix, users: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        if len(self.keep) == self.n_items:
            return None, self.scores(history, users)
        return self.keep, np.asarray(history[:, self.keep] @ self.weights, dtype=np.float32)

    def related(self, item: int) -> np.ndarray | None:
        position = np.searchsorted(self.keep, item)
        if position >= len(self.keep) or self.keep[position] != item:
            return None
        out = np.zeros(self.n_items, dtype=np.float32)
        out[self.keep] = self.weights[position]
        return out

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"keep": self.keep, "weights": self.weights}

    def _restore(self, arrays: dict[str, np.ndarray]) -> None:
        self.keep, self.weights = arrays["keep"], arrays["weights"]


class Factors(Model):
    """A matrix factorisation: users' and items' factor rows; new events fold a user in by least squares."""

    def _implicit_model(self):
        raise NotImplementedError

    def fit(self, matrix: sp.csr_matrix) -> Factors:
        with threadpool_limits(1, "blas"):  # implicit's solvers are threaded; it checks every loaded BLAS
            model = self._implicit_model()
            model.fit(_canonical(matrix), show_progress=False)
        self.user_factors = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.asarray(model.item_factors, dtype=np.float32)
        self._prepare()
        return self

    def _prepare(self) -> None:
        self._gram = (self.item_factors.T @ self.item_factors).astype(np.float64)
        norms = np.linalg.norm(self.item_factors, axis=1, keepdims=True)
        self._unit = self.item_factors / np.maximum(norms, 1e-9)

    def scores(self, history: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        vectors = np.empty((history.shape[0], self.item_factors.shape[1]), dtype=np.float32)
        for row, user in enumerate(users):
            if user >= 0:
                vectors[row] = self.user_factors[user]
            else:
                start, end = history.indptr[row], history.indptr[row + 1]
                vectors[row] = self.fold_in(history.indices[start:end], history.data[start:end])
        return vectors @ self.item_factors.T

    def fold_in(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """The user row that best explains ``items`` (ALS's normal equations with confidence α·w)."""
        size = self.item_factors.shape[1]
        if len(items) == 0:
            return np.zeros(size, dtype=np.float32)
        factors = self.item_factors[items].astype(np.float64)
        confidence = float(self.settings.get("alpha", 1.0)) * np.asarray(weights, dtype=np.float64)
        system = self._gram + float(self.settings.get("regularization", 0.05)) * np.eye(size)
        system += (factors * (confidence - 1.0)[:, None]).T @ factors
        vector = np.linalg.solve(system, (factors * confidence[:, None]).sum(axis=0))
        if self.name == "bpr":  # BPR's last factor is the item bias; its user side is pinned to 1
            vector[-1] = 1.0
        return vector.astype(np.float32)

    def related(self, item: int) -> np.ndarray | None:
        if not np.any(self.item_factors[item]):
            return None
        return self._unit @ self._unit[item]

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors, "item_factors": self.item_factors}

    def _restore(self, arrays: dict[str, np.ndarray]) -> None:
        self.user_factors, self.item_factors = arrays["user_factors"], arrays["item_factors"]
        self._prepare()


class Als(Factors):
    """Implicit-feedback ALS (Hu, Koren and Volinsky, 2008) through ``implicit``."""

    name = "als"

    def _implicit_model(self):
        from implicit.cpu.als import AlternatingLeastSquares

        s = self.settings
        return AlternatingLeastSquares(
            factors=int(s.get("factors", 64)),
            regularization=float(s.get("regularization", 0.05)),
            alpha=float(s.get("alpha", 1.0)),
            iterations=int(s.get("iterations", 15)),
            random_state=int(s.get("seed", 0)),
            num_threads=THREADS,
        )


class Bpr(Factors):
    """Bayesian personalised ranking (Rendle et al., 2009) through ``implicit``."""

    name = "bpr"

    def _implicit_model(self):
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        s = self.settings
        return BayesianPersonalizedRanking(
            factors=int(s.get("factors", 64)),
            learning_rate=float(s.get("learning_rate", 0.05)),
            regularization=float(s.get("regularization", 0.01)),
            iterations=int(s.get("iterations", 60)),
            random_state=int(s.get("seed", 0)),
            num_threads=THREADS,
        )


MODELS: dict[str, type[Model]] = {cls.name: cls for cls in (Popularity, ItemItem, Ease, Als, Bpr)}


def import_engines() -> None:
    """Import implicit's models now, on one thread: its package imports itself circularly, and two search
    threads importing it at once can meet a partially initialised module (seen as an ImportError)."""
    import implicit.cpu.als  # noqa: F401
    import implicit.cpu.bpr  # noqa: F401
    import implicit.nearest_neighbours  # noqa: F401


@dataclass(frozen=True)
class EaseSystem:
    """What EASE's fits share whatever their λ: the dense items and the Gram matrix of the smaller side.

    With fewer users than items (half or fewer), the users × users matrix XXᵀ is inverted instead
    of the items × items one (``Ease.fit_system``): on ml-latest-small (595 users, 2,000 dense
    items) a fit took 45 ms instead of 138 ms, with the same weights to float32 precision.
    """

    keep: np.ndarray  # the dense items, sorted
    gram: np.ndarray  # float32: XᵀX over them, or XXᵀ when ``users`` is set
    users: sp.csr_matrix | None = None  # X over the dense items (users who took any), for XXᵀ


def ease_system(matrix: sp.csr_matrix, most: int) -> EaseSystem:
    """EASE's system over the ``most`` most-interacted items of the binary users × items matrix ``X``.

    XᵀX is sparse × dense: a few times faster here than sparse × sparse, whose result is mostly
    filled anyway. float32 holds the co-occurrence counts exactly (below 2²⁴) and halves the inversion's time.
    """
    binary = _binary(matrix)
    keep = most_taken(np.asarray(binary.sum(axis=0)).ravel(), most)
    sub = binary if len(keep) == binary.shape[1] else binary[:, keep].tocsr()
    active = sub[np.diff(sub.indptr) > 0]
    if 0 < active.shape[0] <= len(keep) // 2:
        return EaseSystem(keep, np.asarray((active @ active.T).toarray(), dtype=np.float32), active)
    return EaseSystem(keep, np.asarray(sub.T @ sub.toarray(), dtype=np.float32))


def most_taken(counts: np.ndarray, most: int) -> np.ndarray:
    """The (sorted) indices of the most-taken items that hold ``DENSE_SHARE`` of the interactions, at most
    ``most`` of them, and at least ``MIN_DENSE_ITEMS`` (or every item taken at all, if fewer).

    The rarest items, which share the last 5% of the interactions, are left out: EASE's λ (200 or more)
    shrinks an item seen c times by about c / (c + λ), so their weights are small anyway, and the
    inversion's time grows with the cube of the items. On ML-100K the validation fit keeps 925 of its
    1,643 items: training took 0.15 s instead of 0.32 s, test NDCG@10 went from 0.1941 to 0.1935 and
    catalogue coverage@10 from 35.4% to 34.6%. A long-tailed catalogue such as ml-latest-small meets
    ``most`` first (its 2,000 items hold 77% of the interactions) and is not affected.
    """
    taken = np.flatnonzero(counts > 0)
    order = taken[np.argsort(-counts[taken], kind="stable")]
    share = np.cumsum(counts[order], dtype=np.float64)
    needed = int(np.searchsorted(share, DENSE_SHARE * share[-1])) + 1 if len(order) else 0
    return np.sort(order[: min(most, max(needed, MIN_DENSE_ITEMS))])


def _spd_inverse(matrix: np.ndarray, n_items: int) -> np.ndarray:
    """The inverse of a symmetric positive definite, C-ordered float32 matrix through its Cholesky factor, in place.

    LAPACK's potrf + potri take about a sixth of the time of ``np.linalg.inv``'s LU here. The matrix is
    its own transpose, so its Fortran-ordered view is handed to LAPACK without the copy f2py would make.
    """
    with blas_threads(1):  # measured: a second BLAS thread slows it on the shared 2 cores
        factor, info = lapack.spotrf(matrix.T, lower=False, overwrite_a=True)
        if info == 0:
            upper, info = lapack.spotri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise KindFailed(f"EASE could not invert its {n_items}-item Gram matrix (LAPACK info {info})")
    # potri fills only the upper triangle of its Fortran-ordered result, which is the lower triangle of the
    # C-ordered transpose (the same memory): mirror that into its upper triangle, and scoring reads rows
    inverse = upper.T
    _mirror_lower(inverse)
    return inverse


def _mirror_lower(square: np.ndarray, block: int = 256) -> None:
    """Copy the lower triangle of ``square`` onto its upper one, a strip of rows at a time.

    Strips keep the transposed reads within cache: one ``np.copyto`` over the whole matrix with a
    triangular mask took a third of the inversion's time.
    """
    n = len(square)
    for start in range(0, n, block):
        end = min(start + block, n)
        diagonal = square[start:end, start:end]
        np.copyto(diagonal, diagonal.T, where=_strict_upper(end - start))
        square[start:end, end:] = square[end:, start:end].T


@lru_cache(maxsize=4)
def _strict_upper(n: int) -> np.ndarray:
    return np.triu(np.ones((n, n), dtype=bool), k=1)


def _binary(matrix: sp.csr_matrix) -> sp.csr_matrix:
    binary = _canonical(matrix)
    binary.data[:] = 1.0
    return binary


def _canonical(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """A float32 copy with each row's items sorted, as implicit's samplers and searches expect."""
    copy = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    copy.sort_indices()
    return copy
