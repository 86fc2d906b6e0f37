"""Vision kinds: image labels, faces, moderation and text in images (pretrained services), and custom labels."""

from aiflywheel.kinds.vision.custom import ImageClassifierKind
from aiflywheel.kinds.vision.faces import FacesKind
from aiflywheel.kinds.vision.labels import LabelsKind
from aiflywheel.kinds.vision.moderation import ModerationKind
from aiflywheel.kinds.vision.text import TextKind

__all__ = ["FacesKind", "ImageClassifierKind", "LabelsKind", "ModerationKind", "TextKind"]
