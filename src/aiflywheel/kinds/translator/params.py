"""The translator's parameters: limits, the project's terminology, and how the translation memory is reused."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Term(BaseModel):
    """A term and the translation it must get (in the given pair, or in every pair when left out)."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1)
    target: str = Field(min_length=1)
    source_language: str | None = None
    target_language: str | None = None


class TranslatorParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_chars: int = Field(20_000, ge=1, le=5_000_000, description="Longest text accepted, in characters.")
    default_target: str = "pt"
    terminology: list[Term] = Field(default_factory=list, description="Terms and their forced translations.")
    memory_min_similarity: float = Field(
        0.9, ge=0.5, le=1.0, description="A remembered sentence this similar (0-1, by edit distance) is reused."
    )
    # Training rows (a translation memory): a source sentence, its approved translation, and their languages.
    source_column: str = "source_text"
    target_column: str = "target_text"
    source_language_column: str = "source_language"
    target_language_column: str = "target_language"
