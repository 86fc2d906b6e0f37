"""The ``translator`` kind: neural and rule-based translation with terminology and a translation memory."""

from aiflywheel.kinds.translator.kind import TranslatorKind
from aiflywheel.kinds.translator.params import TranslatorParams

__all__ = ["TranslatorKind", "TranslatorParams"]
