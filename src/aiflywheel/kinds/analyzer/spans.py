"""A typed span of a text (an entity, a piece of PII), with character offsets: ``text[start:end]``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    type: str
    start: int
    end: int
    text: str

    def as_dict(self) -> dict:
        return {"text": self.text, "type": self.type, "start": self.start, "end": self.end}
