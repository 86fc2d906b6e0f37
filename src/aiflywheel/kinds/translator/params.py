"""The translator's parameters: limits, the project's terminology, and how the translation memory is reused."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

LANGUAGE_CODE = r"^[a-z]{2,3}$"


class Term(BaseModel):
    """A term and the translation it must get (in the given pair, or in every pair when left out)."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1)
    target: str = Field(min_length=1)
    source_language: str | None = None
    target_language: str | None = None


class NeuralModel(BaseModel):
    """A translation model the user supplies for one pair: a directory or archive on the server (``user_models``)."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(pattern=LANGUAGE_CODE, description="ISO 639-1 code of the language it translates from.")
    target: str = Field(pattern=LANGUAGE_CODE, description="ISO 639-1 code of the language it translates into.")
    path: str = Field(min_length=1, description="A model directory or a .tar.gz/.tgz/.tar/.zip archive of one.")
    format: Literal["auto", "ctranslate2", "marian", "bergamot"] = "auto"
    beam_size: int = Field(4, ge=1, le=16, description="Beam width when decoding (CTranslate2 and Marian models).")


class TranslatorParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_chars: int = Field(20_000, ge=1, le=5_000_000, description="Longest text accepted, in characters.")
    default_target: str = "pt"
    terminology: list[Term] = Field(default_factory=list, description="Terms and their forced translations.")
    models: list[NeuralModel] = Field(
        default_factory=list, description="Neural models you supply, one per pair; they win over the shipped engines."
    )
    memory_min_similarity: float = Field(
        0.9, ge=0.5, le=1.0, description="A remembered sentence this similar (0-1, by edit distance) is reused."
    )
    # Training rows (a translation memory): a source sentence, its approved translation, and their languages.
    source_column: str = "source_text"
    target_column: str = "target_text"
    source_language_column: str = "source_language"
    target_language_column: str = "target_language"

    @field_validator("models")
    @classmethod
    def _one_model_per_pair(cls, models: list[NeuralModel]) -> list[NeuralModel]:
        pairs = [(m.source, m.target) for m in models]
        repeated = sorted({f"{s}->{t}" for s, t in pairs if pairs.count((s, t)) > 1})
        if repeated:
            raise ValueError(f"one model per language pair; {repeated} have more than one")
        if any(s == t for s, t in pairs):
            raise ValueError("a model translates between two different languages")
        return models
