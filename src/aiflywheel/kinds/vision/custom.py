"""The ``image-classifier`` kind: custom labels learned from the user's labelled images.

Each image becomes the shipped EfficientNet-Lite0's 1280-float embedding (no fine-tuning,
so a few dozen images per label are enough and training takes seconds); a multinomial
logistic regression learns the labels on top. A corrected label sent as feedback becomes a
training row (the image and its right label), so the flywheel retrains the head on it.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import joblib
import numpy as np
import pyarrow as pa
from PIL import Image, ImageDraw
from pydantic import BaseModel, ConfigDict, Field
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.kinds import (
    Column,
    FeedbackRecord,
    KindExample,
    Metric,
    Progress,
    TrainingData,
    TrainResult,
    parse_params,
)
from aiflywheel.kinds.components.image_embeddings import imagenet_model
from aiflywheel.kinds.components.images import ImageLimits, decode_image, instance_image
from aiflywheel.kinds.vision.labels import IMAGE_INPUT

PRIMARY = Metric("accuracy", True)
HEAD = "head.joblib"
SETTINGS = "settings.json"
MIN_PER_LABEL = 2


class ClassifierParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    image_column: str = Field("image", min_length=1, description="Column of base64 images.")
    label_column: str = Field("label", min_length=1, description="Column of the right label of each image.")
    test_size: float = Field(0.2, gt=0.0, lt=0.5, description="Share of images held out to measure accuracy.")
    l2: float = Field(1.0, gt=0.0, le=1000.0, description="Inverse strength of the head's L2 penalty (C).")
    max_labels: int = Field(5, ge=1, le=100, description="Labels returned per image, best first.")
    max_image_bytes: int = Field(20 * 1024 * 1024, ge=1024)
    max_image_pixels: int = Field(40_000_000, ge=10_000)
    seed: int = 0

    def limits(self) -> ImageLimits:
        return ImageLimits(self.max_image_bytes, self.max_image_pixels)


class ClassifierPredictor:
    def __init__(self, head: LogisticRegression, settings: dict[str, Any]):
        self.head = head
        self.settings = settings
        self.model = imagenet_model()
        self.limits = ImageLimits(settings["max_image_bytes"], settings["max_image_pixels"])

    def predict(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        images = [instance_image(instance, "image", self.limits) for instance in batch]
        if not images:
            return []
        probabilities = self.head.predict_proba(self.model.embed(images))
        classes = [str(label) for label in self.head.classes_]
        out = []
        for row in probabilities:
            order = np.argsort(row)[::-1][: self.settings["max_labels"]]
            labels = [{"name": classes[i], "confidence": round(float(row[i]), 4)} for i in order]
            out.append({"label": labels[0]["name"], "confidence": labels[0]["confidence"], "labels": labels})
        return out


class ImageClassifierKind:
    name: ClassVar[str] = "image-classifier"
    description: ClassVar[str] = "Custom labels: a classifier trained on your labelled images over shipped embeddings."
    pretrained: ClassVar[bool] = False
    Params: ClassVar[type[BaseModel]] = ClassifierParams
    input_schema: ClassVar[dict[str, Any]] = IMAGE_INPUT
    output_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"label": {"type": "string"}, "confidence": {"type": "number"}, "labels": {"type": "array"}},
    }
    primary_metric: ClassVar[Metric] = PRIMARY

    def validate(self, params: BaseModel, columns: tuple[Column, ...]) -> None:
        p = _params(params)
        names = [column.name for column in columns]
        for field in ("image_column", "label_column"):
            if getattr(p, field) not in names:
                raise InvalidInput(f"{field} {getattr(p, field)!r} is not in the dataset; columns: {names}")

    def train(self, data: TrainingData, params: BaseModel, progress: Progress, workdir: Path) -> TrainResult:
        p = _params(params)
        self.validate(p, data.columns)
        progress(0.0, "reading images")
        vectors, labels = _embed_table(data.read([p.image_column, p.label_column]).to_pylist(), p, progress)
        counts = {label: labels.count(label) for label in set(labels)}
        if len(counts) < 2:
            raise InvalidInput(f"column {p.label_column!r} needs at least two different labels; it has {list(counts)}")
        scarce = sorted(label for label, count in counts.items() if count < MIN_PER_LABEL)
        if scarce:
            raise InvalidInput(f"every label needs at least {MIN_PER_LABEL} images; too few for {scarce[:10]}")
        y = np.array(labels)
        held = max(len(counts), int(round(len(y) * p.test_size)))
        stratify = y if held >= len(counts) and len(y) - held >= len(counts) else None
        fit_x, test_x, fit_y, test_y = train_test_split(
            vectors, y, test_size=held, random_state=p.seed, stratify=stratify
        )
        progress(0.8, f"fitting the head on {len(fit_y)} images, testing on {len(test_y)}")
        trial = _head(p).fit(fit_x, fit_y)
        accuracy = float(np.mean(trial.predict(test_x) == test_y))
        majority = max(np.mean(test_y == label) for label in set(test_y))
        head = _head(p).fit(vectors, y)
        joblib.dump(head, Path(workdir) / HEAD)
        (Path(workdir) / SETTINGS).write_text(json.dumps(p.model_dump()))
        progress(1.0, "done")
        metrics = {
            "accuracy": accuracy,
            "baseline_accuracy": float(majority),
            "n_images": len(y),
            "n_labels": len(counts),
        }
        return TrainResult(metrics, PRIMARY, {"labels": sorted(counts), "images_per_label": counts})

    def load(self, workdir: Path) -> ClassifierPredictor:
        return ClassifierPredictor(
            joblib.load(Path(workdir) / HEAD), json.loads((Path(workdir) / SETTINGS).read_text())
        )

    def evaluate(self, predictor: ClassifierPredictor, data: TrainingData, params: BaseModel) -> dict[str, Any]:
        p = _params(params)
        self.validate(p, data.columns)
        rows = [r for r in data.read([p.image_column, p.label_column]).to_pylist() if r[p.label_column] is not None]
        if not rows:
            raise InvalidInput(f"no row has a label in {p.label_column!r}")
        predicted = predictor.predict([{"image": row[p.image_column]} for row in rows])
        hits = [out["label"] == str(row[p.label_column]) for out, row in zip(predicted, rows, strict=True)]
        return {"accuracy": float(np.mean(hits)), "n_images": len(hits)}

    def feedback_rows(self, params: BaseModel, records: Iterable[FeedbackRecord]) -> list[dict[str, Any]]:
        """A corrected (or confirmed) label is a training row: the image and the label it should have had."""
        p = _params(params)
        return [
            {p.image_column: record.input["image"], p.label_column: str(record.feedback["label"])}
            for record in records
            if record.feedback.get("label") is not None and isinstance(record.input.get("image"), str)
        ]

    @classmethod
    def example(cls) -> KindExample:
        shapes = [_drawn(shape, shade) for shape in ("circle", "square") for shade in range(8)]
        table = pa.table({"image": [image for image, _ in shapes], "label": [label for _, label in shapes]})
        return KindExample(
            train=table,
            params={"test_size": 0.25},
            batch=[{"image": shapes[0][0]}, {"image": shapes[-1][0]}],
            bad_batch=[{"image": "not an image"}],
            bad_params={"test_size": 0.9},
            feedback=[
                FeedbackRecord(input={"image": shapes[1][0]}, output={"label": "square"}, feedback={"label": "circle"})
            ],
        )


def _head(p: ClassifierParams) -> LogisticRegression:
    return LogisticRegression(C=p.l2, max_iter=2000, random_state=p.seed)


def _embed_table(rows: list[dict[str, Any]], p: ClassifierParams, progress: Progress) -> tuple[np.ndarray, list]:
    images, labels = [], []
    for number, row in enumerate(rows):
        if row[p.label_column] is None:
            continue
        try:
            images.append(decode_image(row[p.image_column], p.image_column, p.limits()))
        except InvalidInput as exc:
            raise InvalidInput(f"row {number}: {exc}") from exc
        labels.append(str(row[p.label_column]))
    if not images:
        raise InvalidInput(f"no row has both an image and a label in {p.label_column!r}")
    vectors = []
    for start in range(0, len(images), 32):
        vectors.append(imagenet_model().embed(images[start : start + 32]))
        progress(min(0.75, 0.75 * (start + 32) / len(images)), f"embedded {min(start + 32, len(images))} images")
    return np.concatenate(vectors), labels


def _params(params: BaseModel | dict[str, Any]) -> ClassifierParams:
    if isinstance(params, ClassifierParams):
        return params
    return parse_params(ImageClassifierKind(), params.model_dump() if isinstance(params, BaseModel) else params)


def _drawn(shape: str, shade: int) -> tuple[str, str]:
    """A small picture of a circle or a square for the example: base64 PNG and its label."""
    image = Image.new("RGB", (64, 64), (250 - shade * 10, 250, 240))
    draw = ImageDraw.Draw(image)
    colour = (40 + shade * 20, 80, 200 - shade * 15)
    box = (12 + shade, 12, 52, 52 - shade)
    (draw.ellipse if shape == "circle" else draw.rectangle)(box, fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode(), shape
