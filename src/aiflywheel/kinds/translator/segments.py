"""Cut a text into the sentences a model translates and the pieces kept as they are, and put it back together.

Kept verbatim: line breaks and blank lines, HTML tags, Markdown line markers (headings,
list bullets, quotes, numbered items), inline code and fenced code blocks, and the
spaces between sentences. Everything else is split into sentences, because the neural
models were trained on single sentences and drift on long inputs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KEPT = re.compile(
    r"```.*?```"  # fenced code block
    r"|`[^`\n]+`"  # inline code
    r"|<!--.*?-->|</?[A-Za-z][^<>]*>"  # HTML comments and tags
    r"|&[A-Za-z]+;|&#\d+;"  # HTML character references
    r"|(?m:^[ \t]*(?:#{1,6}|[-*+]|\d+[.)]|>)[ \t]+)"  # Markdown line markers
    r"|\*\*|__"  # Markdown strong emphasis markers
    r"|\s*\n\s*",  # line breaks with the spaces around them
    re.DOTALL,
)
ABBREVIATION = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|Mt|No|vs|etc|Inc|Ltd|Co|Corp|Fig|Sra?|Dra?)|\b[A-Z])\.$")
SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[¿¡]?[A-ZÀ-Ý0-9])")


@dataclass(frozen=True)
class Piece:
    text: str
    translate: bool


def split(text: str) -> list[Piece]:
    """The text as pieces; joining every piece's text gives the input back exactly."""
    pieces: list[Piece] = []
    cursor = 0
    for match in KEPT.finditer(text):
        pieces += _sentences(text[cursor : match.start()])
        pieces.append(Piece(match.group(), False))
        cursor = match.end()
    pieces += _sentences(text[cursor:])
    return [piece for piece in pieces if piece.text]


def join(pieces: list[Piece], translations: dict[int, str]) -> str:
    """Pieces put back, each translated piece (by its index) replaced by its translation."""
    return "".join(translations.get(i, piece.text) for i, piece in enumerate(pieces))


def _sentences(run: str) -> list[Piece]:
    """A run of prose: its leading/trailing spaces kept, the rest cut at sentence ends."""
    if not run.strip():
        return [Piece(run, False)]
    body = run.strip()
    lead, trail = run[: len(run) - len(run.lstrip())], run[len(run.rstrip()) :]
    pieces = [Piece(lead, False)]
    cursor = 0
    for gap in SENTENCE_END.finditer(body):
        if ABBREVIATION.search(body[cursor : gap.start()]):
            continue  # "Dr. Smith", "J. Doe": not a sentence end
        pieces += [Piece(body[cursor : gap.start()], True), Piece(gap.group(), False)]
        cursor = gap.end()
    pieces += [Piece(body[cursor:], True), Piece(trail, False)]
    return pieces


CLOSERS = "\"'”’)]"


def match_edges(source: str, translated: str) -> str:
    """A fragment cut out by markup ("is <b>Friday</b>") keeps its source's lower-case start and missing full stop.

    A full stop inside closing quotes counts: for 'called it "a treasure."' the model writes
    '"um tesouro".', Portuguese order, and that full stop stays.
    """
    if source[:1].islower() and translated[:1].isupper():
        translated = translated[0].lower() + translated[1:]
    if source.rstrip(CLOSERS)[-1:] not in ".!?…" and translated[-1:] == ".":
        translated = translated[:-1]
    return translated
