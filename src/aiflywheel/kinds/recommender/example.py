"""A tiny deterministic shop for the conformance suite: tastes by category, events, catalogue-only items."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from aiflywheel.kernel.kinds import FeedbackRecord, KindExample

USERS = 60
SHELVES = {
    "garden": ["garden hose", "pruning shears", "flower seeds", "lawn mower", "watering can", "garden gloves"],
    "kitchen": ["chef knife", "frying pan", "cutting board", "espresso machine", "mixing bowls", "oven mitts"],
    "music": ["acoustic guitar", "guitar strings", "drum sticks", "piano keyboard", "music stand", "violin bow"],
}
NEW = {"i90": ("electric guitar amplifier", "music"), "i91": ("kitchen scale for baking", "kitchen")}


def make_example() -> KindExample:
    """60 users, each loyal to one shelf of 6 items, 8-12 events each, plus two items nobody has touched."""
    rng = np.random.RandomState(3)
    catalogue = []
    for shelf, titles in SHELVES.items():
        for title in titles:
            catalogue.append((f"i{len(catalogue):02d}", title, shelf))
    rows: dict[str, list] = {k: [] for k in ("user_id", "item_id", "timestamp", "event_type", "title", "categories")}
    rows["available"], rows["price"] = [], []
    clock = 1_700_000_000
    for user in range(USERS):
        shelf = user % len(SHELVES)
        own = [entry for entry in catalogue if entry[2] == list(SHELVES)[shelf]]
        for _ in range(rng.randint(8, 13)):
            item, title, category = own[rng.randint(len(own))] if rng.rand() < 0.85 else catalogue[rng.randint(18)]
            clock += int(rng.randint(60, 3600))
            _add(rows, f"u{user}", item, clock, rng.choice(["view", "view", "purchase"]), title, category)
    for item, (title, category) in NEW.items():
        _add(rows, None, item, clock, None, title, category)
    rows["available"][-1] = False  # the kitchen scale is out of stock...
    _add(rows, None, "i10", clock, None, "mixing bowls", "kitchen")
    rows["available"][-1] = False  # ...and so are the mixing bowls, from now on
    train = pa.table(
        {
            "user_id": pa.array(rows["user_id"], pa.string()),
            "item_id": pa.array(rows["item_id"], pa.string()),
            "timestamp": pa.array(rows["timestamp"], pa.int64()),
            "event_type": pa.array(rows["event_type"], pa.string()),
            "title": pa.array(rows["title"], pa.string()),
            "categories": pa.array(rows["categories"], pa.string()),
            "available": pa.array(rows["available"], pa.bool_()),
            "price": pa.array(rows["price"], pa.float64()),
        }
    )
    batch = [
        {"user_id": "u1", "n": 5},
        {"item_id": "i12", "n": 3},
        {"user_id": "someone-new"},
        {"user_id": "u2", "candidates": ["i00", "i07", "i13", "no-such-item"]},
        {"user_id": "u4", "recent_items": ["i14", {"item_id": "i15", "event_type": "purchase"}], "n": 4},
        {"user_id": 7, "include_categories": ["kitchen"], "exclude_items": ["i06"], "n": 3},
    ]
    feedback = [
        FeedbackRecord(
            input={"user_id": "u1", "n": 5},
            output={"items": [{"item_id": "i07", "score": 0.4, "source": "collaborative"}]},
            feedback={"label": "i07", "event_id": "e1", "created_at": "2026-11-24T09:00:00+00:00"},
        ),
        FeedbackRecord(
            input={"user_id": "u4", "recent_items": ["i14"]},
            output={"items": []},
            feedback={
                "outcome": {"item_id": "i15", "event_type": "purchase"},
                "event_id": "e2",
                "created_at": "2026-11-24T09:01:00+00:00",
            },
        ),
        FeedbackRecord(
            input={"item_id": "i12"},  # related items: no user, so no interaction
            output={"items": [{"item_id": "i13", "score": 0.2, "source": "collaborative"}]},
            feedback={"label": "i13", "event_id": "e3", "created_at": "2026-11-24T09:02:00+00:00"},
        ),
    ]
    return KindExample(
        train=train,
        params={"validation_items": 2, "event_weights": {"view": 1.0, "purchase": 3.0}},
        batch=batch,
        bad_batch=[{"user_id": "u1", "n": 0}],
        bad_params={"validation_items": 0},
        feedback=feedback,
    )


def _add(rows: dict[str, list], user, item, clock, event, title, category) -> None:
    rows["user_id"].append(user)
    rows["item_id"].append(item)
    rows["timestamp"].append(clock)
    rows["event_type"].append(event)
    rows["title"].append(title)
    rows["categories"].append(category)
    rows["available"].append(True)
    rows["price"].append(round(5.0 + 3.0 * int(item[1:]) % 40, 2))
