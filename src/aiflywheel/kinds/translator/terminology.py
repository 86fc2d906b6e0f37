"""A project's terminology, forced into translations and checked in the output.

Each term found in a sentence (whole words, any case) is swapped for a code the neural
model copies unchanged ("ZQX1"); after translation the code becomes the forced target
term. Every term is then looked for in the output, and the answer says whether it was
applied, so a lost term is visible rather than silent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aiflywheel.kinds.translator.params import Term

CODE = "ZQX{}"


@dataclass
class Protected:
    text: str
    swaps: dict[str, Term]  # code -> the term it stands for


def applicable(terms: list[Term], source: str, target: str) -> list[Term]:
    return [t for t in terms if t.source_language in (None, source) and t.target_language in (None, target)]


def protect(sentence: str, terms: list[Term]) -> Protected:
    swaps: dict[str, Term] = {}
    text = sentence
    for term in sorted(terms, key=lambda t: -len(t.source)):  # longest first: "credit card" before "card"
        pattern = re.compile(rf"(?<!\w){re.escape(term.source)}(?!\w)", re.IGNORECASE)
        if pattern.search(text):
            code = CODE.format(len(swaps) + 1)
            text = pattern.sub(code, text)
            swaps[code] = term
    return Protected(text, swaps)


def restore(translated: str, protected: Protected) -> tuple[str, list[dict]]:
    """The translation with codes replaced by target terms, and per term whether it is in the output."""
    report = []
    for code, term in protected.swaps.items():
        translated = re.sub(rf"(?<!\w){code}(?!\w)", term.target, translated)
        found = re.search(rf"(?<!\w){re.escape(term.target)}(?!\w)", translated, re.IGNORECASE) is not None
        report.append({"source": term.source, "target": term.target, "applied": found})
    return translated, report
