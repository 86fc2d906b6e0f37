"""Support messages labelled by team, for the conformance suite: train a classifier, analyse, correct a label."""

from __future__ import annotations

import pyarrow as pa

from aiflywheel.kernel.kinds import FeedbackRecord, KindExample

MESSAGES = {
    "billing": [
        "I was charged twice for my subscription this month.",
        "Please send me a copy of last month's invoice.",
        "My credit card payment was declined but the money left my account.",
        "How do I get a refund for the annual plan?",
        "The price on my bill is higher than the one on your website.",
        "Can I change the card you charge every month?",
        "Why is there a late fee on my statement?",
        "I cancelled but you still billed me.",
    ],
    "shipping": [
        "My parcel has not arrived after two weeks.",
        "The tracking number you sent does not work.",
        "Can you deliver to my office address instead?",
        "The courier left the box at the wrong door.",
        "How long does delivery to Portugal take?",
        "The package arrived damaged and wet.",
        "Do you ship overnight to New York?",
        "My order says delivered but nothing came.",
    ],
    "account": [
        "I forgot my password and the reset e-mail never comes.",
        "How do I change the e-mail address on my profile?",
        "My account is locked after too many login attempts.",
        "Please delete my account and all my data.",
        "I cannot sign in with two-factor authentication.",
        "Can I add a second user to my account?",
        "The app logs me out every few minutes.",
        "How do I change my username?",
    ],
}


def make_example() -> KindExample:
    texts = [text for texts in MESSAGES.values() for text in texts]
    labels = [label for label, texts in MESSAGES.items() for _ in texts]
    train = pa.table({"text": pa.array(texts, pa.string()), "label": pa.array(labels, pa.string())})
    feedback = [
        FeedbackRecord(
            input={"text": "Where is my refund for the broken lamp?"},
            output={"category": {"label": "shipping", "scores": {"shipping": 0.5, "billing": 0.4, "account": 0.1}}},
            feedback={"label": "billing", "event_id": "e1"},
        )
    ]
    return KindExample(
        train=train,
        params={"holdout": 0.25},
        batch=[
            {"text": "I was billed twice, please refund me. Call +1 415 555 0132 or mail ana@example.com."},
            {"text": "The delivery from Lisbon is late again and the courier was rude."},
            {"text": "Great support, thank you Maria!"},
        ],
        bad_batch=[{"text": ""}],
        bad_params={"max_chars": 0},
        feedback=feedback,
    )
