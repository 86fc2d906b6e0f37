"""A linear contextual bandit per offer (disjoint model): Thompson sampling or LinUCB with epsilon-greedy.

Each offer ``a`` keeps ``A_a = l2·I + Σ x xᵀ`` and ``b_a = Σ r x`` over the decisions
that showed it; its mean is ``θ_a = A_a⁻¹ b_a``. Thompson draws ``θ ~ N(θ_a, s² A_a⁻¹)``
per offer and shows the best draw; LinUCB shows the best ``xᵀθ_a + α √(xᵀ A_a⁻¹ x)``
and, with probability ε, a uniformly random candidate. Every decision comes with the
probability it had (its propensity), so logged decisions can be evaluated off-policy.
A few dozen features and offers make this a small numpy problem: no library needed.
"""

from __future__ import annotations

import numpy as np


class LinearPolicy:
    def __init__(
        self, offers: list[str], a: np.ndarray, b: np.ndarray, policy: str, exploration: float, epsilon: float
    ):
        self.offers = list(offers)
        self.a, self.b = a, b
        self.policy, self.exploration, self.epsilon = policy, exploration, epsilon
        self.index = {offer: number for number, offer in enumerate(self.offers)}
        self.inverse = np.linalg.inv(a)
        self.mean = np.einsum("kij,kj->ki", self.inverse, b)
        self.root = np.linalg.cholesky(self.inverse)  # for Thompson draws

    @classmethod
    def fit(cls, offers: list[str], x: np.ndarray, shown: np.ndarray, reward: np.ndarray, l2: float, **kw):
        size = x.shape[1]
        a = np.repeat(np.eye(size)[None] * l2, len(offers), axis=0)
        b = np.zeros((len(offers), size))
        np.add.at(a, shown, x[:, :, None] * x[:, None, :])
        np.add.at(b, shown, x * reward[:, None])
        return cls(offers, a, b, **kw)

    def scores(self, x: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """Expected reward of each candidate for context ``x`` (the posterior mean)."""
        return self.mean[candidates] @ x

    def decide(self, x: np.ndarray, candidates: np.ndarray, rng: np.random.Generator, samples: int):
        """(position among candidates, its propensity)."""
        if self.policy == "thompson":
            draws = self._draws(x, candidates, rng, samples)
            wins = np.bincount(np.argmax(draws, axis=1), minlength=len(candidates))
            chosen = int(np.argmax(draws[0]))
            return chosen, float(wins[chosen] / samples)
        greedy = int(np.argmax(self._ucb(x, candidates)))
        chosen = int(rng.integers(len(candidates))) if rng.random() < self.epsilon else greedy
        return chosen, self._linucb_probability(greedy, chosen, len(candidates))

    def probabilities(self, x: np.ndarray, candidates: np.ndarray, rng: np.random.Generator, samples: int):
        """The probability the policy gives each candidate for ``x``."""
        if self.policy == "thompson":
            wins = np.bincount(np.argmax(self._draws(x, candidates, rng, samples), axis=1), minlength=len(candidates))
            return wins / samples
        greedy = int(np.argmax(self._ucb(x, candidates)))
        return np.array([self._linucb_probability(greedy, c, len(candidates)) for c in range(len(candidates))])

    def _draws(self, x: np.ndarray, candidates: np.ndarray, rng: np.random.Generator, samples: int) -> np.ndarray:
        """samples × candidates rewards, one posterior draw of each candidate's θ per row."""
        mean = self.mean[candidates] @ x
        spread = np.einsum("kij,i->kj", self.root[candidates], x)  # xᵀL: x's projection on each Cholesky factor
        noise = rng.standard_normal((samples, len(candidates), x.shape[0]))
        return mean[None, :] + self.exploration * np.einsum("skj,kj->sk", noise, spread)

    def _ucb(self, x: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        width = np.sqrt(np.maximum(np.einsum("i,kij,j->k", x, self.inverse[candidates], x), 0.0))
        return self.mean[candidates] @ x + self.exploration * width

    def _linucb_probability(self, greedy: int, chosen: int, count: int) -> float:
        return (1.0 - self.epsilon) * (chosen == greedy) + self.epsilon / count
