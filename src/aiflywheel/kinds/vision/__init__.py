"""Vision kinds: image labels, faces, moderation and text in images, each a pretrained service endpoint."""

from aiflywheel.kinds.vision.faces import FacesKind
from aiflywheel.kinds.vision.labels import LabelsKind
from aiflywheel.kinds.vision.moderation import ModerationKind
from aiflywheel.kinds.vision.text import TextKind

__all__ = ["FacesKind", "LabelsKind", "ModerationKind", "TextKind"]
