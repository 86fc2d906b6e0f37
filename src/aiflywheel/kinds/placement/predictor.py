"""The served placement policy: one decision per request, with its propensity, for off-policy evaluation.

A model directory holds ``placement.json`` (format, policy settings, slots and their
offers, the feature map) and ``arrays.npz`` (each offer's ``A`` and ``b``). No pickle.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np

from aiflywheel.errors import InvalidInput, KindFailed
from aiflywheel.kinds.placement.features import FeatureMap
from aiflywheel.kinds.placement.policy import LinearPolicy

FORMAT = "aiflywheel.placement/1"
STATE_FILE = "placement.json"
ARRAYS_FILE = "arrays.npz"
MAX_OFFERS = 1000

INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["slot"],
    "properties": {
        "slot": {"type": "string", "description": "Where the offer will be shown."},
        "offers": {
            "type": "array",
            "items": {"type": "string"},
            "description": "The candidates; default: every offer seen in this slot. Unseen offers are explored.",
        },
        "context": {"type": "object", "description": "Context features by name (numbers or text)."},
    },
    "additionalProperties": False,
}

OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "offer": {"type": "string"},
        "propensity": {"type": "number", "description": "The probability this decision had; log it for replays."},
        "expected_reward": {"type": "number", "description": "The model's mean estimate for the chosen offer."},
    },
}


class PlacementPredictor:
    def __init__(self, policy: LinearPolicy, features: FeatureMap, state: dict[str, Any]):
        self.policy = policy
        self.features = features
        self.state = state
        self.slots: dict[str, list[str]] = state["slots"]
        self._rng = np.random.default_rng(state.get("seed", 0))
        self._lock = threading.Lock()  # one random stream, shared by the serving threads

    def predict(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Raises ``InvalidInput`` naming the row and field of an unusable request."""
        requests = [self._parse(row, position) for position, row in enumerate(batch)]
        out = []
        for slot, offers, context, where in requests:
            x = self.features.vector(slot, context, where)
            candidates = self._indices(offers)
            with self._lock:
                chosen, propensity = self.policy.decide(x, candidates, self._rng, self.state["samples"])
            expected = float(self.policy.scores(x, candidates[chosen : chosen + 1])[0])
            out.append({"offer": offers[chosen], "propensity": propensity, "expected_reward": expected})
        return out

    def probabilities(self, slot: str, offers: list[str], context: dict[str, Any], rng) -> np.ndarray:
        """The policy's probability of each of ``offers`` (replays)."""
        x = self.features.vector(slot, context)
        return self.policy.probabilities(x, self._indices(offers), rng, self.state["samples"])

    def _indices(self, offers: list[str]) -> np.ndarray:
        """Offer rows of the policy; an offer never seen gets a fresh prior row (wide: it gets explored)."""
        missing = [offer for offer in offers if offer not in self.policy.index]
        if missing:
            with self._lock:
                self._grow([offer for offer in missing if offer not in self.policy.index])
        return np.array([self.policy.index[offer] for offer in offers], dtype=np.int64)

    def _grow(self, offers: list[str]) -> None:
        if not offers:
            return
        size = self.policy.a.shape[1]
        prior = np.repeat(np.eye(size)[None] * self.state.get("l2", 1.0), len(offers), axis=0)
        policy = self.policy
        self.policy = LinearPolicy(
            policy.offers + offers,
            np.concatenate([policy.a, prior]),
            np.concatenate([policy.b, np.zeros((len(offers), size))]),
            policy.policy,
            policy.exploration,
            policy.epsilon,
        )

    def _parse(self, row: Any, position: int) -> tuple[str, list[str], dict[str, Any], str]:
        where = f"row {position}: "
        if not isinstance(row, dict):
            raise InvalidInput(f"{where}each input must be an object, got {type(row).__name__}")
        unknown = sorted(set(row) - {"slot", "offers", "context"})
        if unknown:
            raise InvalidInput(f"{where}unknown field(s) {', '.join(map(repr, unknown))}; known: slot, offers, context")
        slot = row.get("slot")
        if not isinstance(slot, str) or not slot.strip():
            raise InvalidInput(f"{where}slot must be a non-empty string, got {slot!r}")
        offers = row.get("offers")
        if offers is None:
            offers = self.slots.get(slot)
            if not offers:
                known = ", ".join(map(repr, sorted(self.slots)))
                raise InvalidInput(f"{where}slot {slot!r} was never seen in training; give its offers (known: {known})")
        if not isinstance(offers, list) or not offers or not all(isinstance(o, str | int) for o in offers):
            raise InvalidInput(f"{where}offers must be a non-empty list of offer ids, got {offers!r}")
        if len(offers) > MAX_OFFERS:
            raise InvalidInput(f"{where}offers has {len(offers)} entries; at most {MAX_OFFERS} are allowed")
        offers = list(dict.fromkeys(str(offer) for offer in offers))
        context = row.get("context", {})
        if not isinstance(context, dict):
            raise InvalidInput(f"{where}context must be an object, got {type(context).__name__}")
        return slot, offers, context, where

    def save(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        np.savez(workdir / ARRAYS_FILE, a=self.policy.a, b=self.policy.b)
        document = {
            "format": FORMAT,
            "offers": self.policy.offers,
            "exploration": self.policy.exploration,
            "epsilon": self.policy.epsilon,
            "features": self.features.to_dict(),
            **self.state,
        }
        (workdir / STATE_FILE).write_text(json.dumps(document, indent=2, ensure_ascii=False))

    @classmethod
    def load(cls, workdir: Path) -> PlacementPredictor:
        workdir = Path(workdir)
        try:
            document = json.loads((workdir / STATE_FILE).read_text())
            with np.load(workdir / ARRAYS_FILE, allow_pickle=False) as stored:
                a, b = stored["a"], stored["b"]
        except (OSError, ValueError, KeyError) as exc:
            raise KindFailed(f"{workdir} does not hold a readable placement model: {exc}") from exc
        if document.get("format") != FORMAT:
            raise KindFailed(f"{workdir / STATE_FILE} is not a {FORMAT} model")
        policy = LinearPolicy(
            document["offers"], a, b, document["policy"], document["exploration"], document["epsilon"]
        )
        state = {key: document[key] for key in ("policy", "samples", "seed", "slots", "l2") if key in document}
        return cls(policy, FeatureMap.from_dict(document["features"]), state)
