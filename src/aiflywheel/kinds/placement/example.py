"""Logged decisions of a simulated shop for the conformance suite and the tests.

Two slots, four offers, three context features. Each offer's click probability depends
on the context (free shipping wins small mobile baskets, the bundle wins large desktop
ones, ...), and the logging policy chose uniformly among the candidates, so every row
carries its propensity. The click model is known, so a test can tell whether a learned
policy found the better offers.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from aiflywheel.kernel.kinds import FeedbackRecord, KindExample

OFFERS = ("free_shipping", "ten_percent", "bundle", "gift")
SLOTS = {"home_top": OFFERS, "checkout": OFFERS[:3]}


def click_probability(slot: str, offer: str, mobile: bool, basket: float, returning: bool) -> float:
    """The simulated shop's true click rate: the ground truth a good policy approaches."""
    base = {"free_shipping": -1.6, "ten_percent": -1.9, "bundle": -2.6, "gift": -2.2}[offer]
    effect = {
        "free_shipping": 1.4 * mobile - 0.015 * basket,
        "ten_percent": 0.9 * returning,
        "bundle": 0.025 * basket - 1.0 * mobile,
        "gift": 0.6 * (not returning) + 0.3 * (slot == "home_top"),
    }[offer]
    slot_shift = 0.4 if slot == "checkout" else 0.0
    return float(1.0 / (1.0 + np.exp(-(base + effect + slot_shift))))


def simulate(rows: int, seed: int) -> pa.Table:
    rng = np.random.RandomState(seed)
    names = ("slot", "offer", "reward", "propensity", "candidates", "device", "basket", "returning")
    columns: dict[str, list] = {name: [] for name in names}
    for _ in range(rows):
        slot = "home_top" if rng.rand() < 0.6 else "checkout"
        mobile, basket, returning = rng.rand() < 0.5, float(np.round(rng.gamma(2.0, 30.0), 2)), bool(rng.rand() < 0.4)
        offers = SLOTS[slot]
        offer = offers[rng.randint(len(offers))]
        reward = int(rng.rand() < click_probability(slot, offer, mobile, basket, returning))
        for key, value in (
            ("slot", slot),
            ("offer", offer),
            ("reward", reward),
            ("propensity", 1.0 / len(offers)),
            ("candidates", "|".join(offers)),
            ("device", "mobile" if mobile else "desktop"),
            ("basket", basket),
            ("returning", returning),
        ):
            columns[key].append(value)
    return pa.table(columns)


def make_example() -> KindExample:
    batch = [
        {"slot": "home_top", "context": {"device": "mobile", "basket": 20.0, "returning": False}},
        {"slot": "checkout", "offers": ["bundle", "ten_percent"], "context": {"device": "desktop", "basket": 150}},
        {"slot": "home_top", "offers": ["gift", "brand_new_offer"]},
    ]
    feedback = [
        FeedbackRecord(
            input={"slot": "home_top", "context": {"device": "mobile", "basket": 20.0, "returning": False}},
            output={"offer": "free_shipping", "propensity": 0.7, "expected_reward": 0.3},
            feedback={"reward": 1.0, "event_id": "e1"},
        ),
        FeedbackRecord(
            input={"slot": "checkout", "offers": ["bundle", "ten_percent"], "context": {"device": "desktop"}},
            output={"offer": "bundle", "propensity": 0.9, "expected_reward": 0.2},
            feedback={"label": 0, "event_id": "e2"},
        ),
    ]
    return KindExample(
        train=simulate(800, seed=11),
        params={},
        batch=batch,
        bad_batch=[{"slot": "home_top", "context": {"basket": "lots"}}],
        bad_params={"epsilon": 2},
        feedback=feedback,
    )
