"""Approved English->Portuguese translations of a shop's messages, for the conformance suite."""

from __future__ import annotations

import pyarrow as pa

from aiflywheel.kernel.kinds import FeedbackRecord, KindExample

APPROVED = [
    ("Your order has shipped.", "Seu pedido foi enviado."),
    ("Thank you for your purchase!", "Obrigado pela sua compra!"),
    ("The invoice is attached to this e-mail.", "A fatura está anexada a este e-mail."),
    ("Your password was changed.", "Sua senha foi alterada."),
    ("We could not charge your card.", "Não conseguimos cobrar no seu cartão."),
    ("Your refund is on its way.", "Seu reembolso está a caminho."),
]


def make_example() -> KindExample:
    train = pa.table(
        {
            "source_text": [s for s, _ in APPROVED],
            "target_text": [t for _, t in APPROVED],
            "source_language": ["en"] * len(APPROVED),
            "target_language": ["pt"] * len(APPROVED),
        }
    )
    return KindExample(
        train=train,
        params={"terminology": [{"source": "Flywheel", "target": "Flywheel"}]},
        batch=[
            {"text": "Your order has shipped.", "source": "en", "target": "pt"},
            {"text": "Flywheel keeps your data at home.\nIt runs offline.", "target": "pt"},
            {"text": "Obrigado pela sua compra!", "source": "auto", "target": "en"},
        ],
        bad_batch=[{"text": "", "target": "pt"}],
        bad_params={"max_chars": 0},
        feedback=[
            FeedbackRecord(
                input={"text": "Your parcel is late.", "source": "en", "target": "pt"},
                output={"text": "Sua encomenda está atrasada.", "source": "en", "target": "pt"},
                feedback={"label": "Seu pacote está atrasado.", "event_id": "e1"},
            )
        ],
    )
