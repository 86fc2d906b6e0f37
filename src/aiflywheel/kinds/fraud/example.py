"""Deterministic card events for the conformance suite and the tests: fraud shows in behaviour.

Customers pay about daily from their home country and usual IP network. A stolen
card shows as a burst: a few payments minutes apart, from another country and
network. An amount alone says little (fraudsters mimic the usual range), so a model
that sees the customer's earlier events (count in the last hour, minutes since the
last payment, new country) catches what one that sees each event alone cannot.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from aiflywheel.kernel.kinds import FeedbackRecord, KindExample

START = pd.Timestamp("2026-01-01")
COUNTRIES = ["NL", "DE", "FR", "BE", "ES"]


def make_events(customers: int = 40, days: int = 30, seed: int = 3) -> pd.DataFrame:
    """Columns: customer, ts (ISO text), amount, country, email, ip, channel, is_fraud."""
    rng = np.random.RandomState(seed)
    rows = []
    for customer in range(customers):
        home = COUNTRIES[customer % len(COUNTRIES)]
        network = f"10.{customer}.0"
        email = f"user{customer}@{['mail.nl', 'web.de', 'post.fr'][customer % 3]}"
        moment = START + pd.Timedelta(hours=float(rng.uniform(0, 24)))
        while moment < START + pd.Timedelta(days=days):
            rows.append(
                (
                    customer,
                    moment,
                    rng.lognormal(3.5, 0.6),
                    home,
                    email,
                    f"{network}.{rng.randint(1, 250)}",
                    rng.choice(["web", "app"]),
                    0,
                )
            )
            if rng.rand() < 0.07:  # the card is stolen: a burst from elsewhere
                burst = moment + pd.Timedelta(hours=float(rng.uniform(1, 12)))
                abroad = COUNTRIES[(customer + 1 + rng.randint(0, 4)) % len(COUNTRIES)]
                for _ in range(rng.randint(2, 4)):
                    burst += pd.Timedelta(minutes=float(rng.uniform(1, 9)))
                    rows.append(
                        (
                            customer,
                            burst,
                            rng.lognormal(3.7, 0.6),
                            abroad,
                            email,
                            f"10.{rng.randint(0, customers)}.0.{rng.randint(1, 250)}",  # another customer's network
                            rng.choice(["web", "app"]),
                            1,
                        )
                    )
            moment += pd.Timedelta(hours=float(rng.uniform(16, 40)))
    frame = pd.DataFrame(rows, columns=["customer", "ts", "amount", "country", "email", "ip", "channel", "is_fraud"])
    frame = frame.sort_values("ts", kind="stable").reset_index(drop=True)
    frame["customer"] = "c" + frame["customer"].astype(str)
    frame["ts"] = frame["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    frame["amount"] = frame["amount"].round(2)
    return frame


PARAMS = {
    "target": "is_fraud",
    "entity_column": "customer",
    "time_column": "ts",
    "amount_column": "amount",
    "learning_rate": 0.1,
    "max_rounds": 100,
    "early_stopping_rounds": 30,
    "min_child_samples": 10,
}


def make_example() -> KindExample:
    frame = make_events(customers=12, days=30)
    batch = [
        {
            "customer": "c1",
            "ts": "2026-02-01T10:00:00",
            "amount": 40.0,
            "country": "DE",
            "email": "user1@web.de",
            "ip": "10.1.0.7",
            "channel": "app",
        },
        {
            "customer": "c1",
            "ts": "2026-02-01T10:04:00",
            "amount": 55.5,
            "country": "ES",
            "email": "user1@web.de",
            "ip": "10.3.0.9",
            "channel": "web",
            "event_type": "event",
        },
        {"customer": "new-customer", "ts": "2026-02-01T11:00:00"},  # only the required variables
    ]
    feedback = [
        FeedbackRecord(
            input=batch[0], output={"score": 0.01, "outcome": "approve"}, feedback={"label": 0, "event_id": "f1"}
        ),
        FeedbackRecord(
            input=batch[1], output={"score": 0.9, "outcome": "block"}, feedback={"label": "fraud", "event_id": "f2"}
        ),
        FeedbackRecord(
            input=batch[2], output={"score": 0.1, "outcome": "approve"}, feedback={"reward": 1.0, "event_id": "f3"}
        ),  # no label: not a training row
    ]
    return KindExample(
        train=pa.Table.from_pandas(frame, preserve_index=False),
        params=dict(PARAMS),
        batch=batch,
        bad_batch=[{"customer": "c1", "ts": "2026-02-01T10:00:00", "amount": "a lot"}],
        bad_params={"target": "is_fraud", "block_fpr": 2},
        feedback=feedback,
    )
