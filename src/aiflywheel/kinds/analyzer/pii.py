"""PII detection and redaction: e-mails, phone numbers, payment cards (Luhn-checked), street addresses, names.

Phone numbers are found by ``phonenumbers`` (Google's libphonenumber, Apache-2.0), which
validates them against each country's numbering plan; names come from the entity
recogniser (spaCy PERSON spans), passed in by the caller; the rest are patterns.
Overlaps keep the checked kinds first (e-mail, card, phone: they are validated), then the
longest span, so "4111 1111 1111 1111" is a card and not a phone, and a name the tagger
stretched over a card number does not hide the card.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import phonenumbers

from aiflywheel.kinds.analyzer.spans import Span

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])")
# 13 to 19 digits, optionally grouped by single spaces or hyphens (the way people type card numbers).
CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
STREET_TYPES = (
    "street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|place|pl|square|sq|way|terrace|"
    "parkway|pkwy|highway|hwy|circle|cir|rua|avenida|travessa"
)
ADDRESS = re.compile(
    rf"\b\d{{1,6}}[A-Za-z]?\s+(?:[A-Z][\w'.-]*\s+){{1,4}}(?:{STREET_TYPES})\b(?:\s+(?:N|S|E|W|NE|NW|SE|SW)\b)?"
    r"(?:,?\s+(?:apt|apartment|suite|ste|unit|#)\.?\s*\w+)?"
    r"(?:,\s*[A-Z][\w'.-]*(?: [A-Z][\w'.-]*){0,3})?(?:,\s*[A-Z]{2})?(?:\s+\d{5}(?:-\d{4})?)?(?=[\s,.;:!?)]|$)",
    re.IGNORECASE,
)
# A phone region whose national format is tried when a number has no "+country" prefix.
DEFAULT_REGIONS = ("US", "GB", "BR", "PT", "DE", "FR", "ES", "IN")
CHECKED = ("email", "card", "phone")
PLACEHOLDERS = {
    "email": "[EMAIL]",
    "phone": "[PHONE]",
    "card": "[CARD]",
    "address": "[ADDRESS]",
    "name": "[NAME]",
}


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum every payment card number satisfies (ISO/IEC 7812)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def find(text: str, names: Iterable[tuple[int, int]] = (), regions: tuple[str, ...] = DEFAULT_REGIONS) -> list[Span]:
    """Every PII span in ``text``, in order, without overlaps; ``names`` are (start, end) of person names."""
    found: list[Span] = []
    found += [Span("email", m.start(), m.end(), m.group()) for m in EMAIL.finditer(text)]
    for match in CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            found.append(Span("card", match.start(), match.end(), match.group()))
    found += _phones(text, regions)
    for match in ADDRESS.finditer(text):
        words = match.group().rstrip(".,")
        found.append(Span("address", match.start(), match.start() + len(words), words))
    found += [Span("name", start, end, text[start:end]) for start, end in names]
    return _without_overlaps(found)


def redact(text: str, spans: list[Span]) -> str:
    """``text`` with each span replaced by its type's placeholder ("[EMAIL]", "[CARD]", ...)."""
    pieces, cursor = [], 0
    for span in sorted(spans, key=lambda s: s.start):
        pieces += [text[cursor : span.start], PLACEHOLDERS[span.type]]
        cursor = span.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def _phones(text: str, regions: tuple[str, ...]) -> list[Span]:
    spans: dict[tuple[int, int], Span] = {}
    for region in regions:
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
            spans.setdefault((match.start, match.end), Span("phone", match.start, match.end, match.raw_string))
    return list(spans.values())


def _without_overlaps(spans: list[Span]) -> list[Span]:
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.type not in CHECKED, -(s.end - s.start), s.start)):
        if all(span.end <= other.start or span.start >= other.end for other in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)
