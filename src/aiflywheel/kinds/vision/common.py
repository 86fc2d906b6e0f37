"""What every pretrained vision kind shares: image limits as params, install/load of a manifest, the example."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from PIL import Image, ImageDraw
from pydantic import BaseModel, ConfigDict, Field

from aiflywheel.errors import InvalidInput, KindFailed
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
from aiflywheel.kinds.components.images import ImageLimits, instance_image

MANIFEST = "manifest.json"


class ImageParams(BaseModel):
    """Limits on the images an endpoint accepts; every vision kind's params extend these."""

    model_config = ConfigDict(extra="forbid")

    max_image_bytes: int = Field(20 * 1024 * 1024, ge=1024, le=200 * 1024 * 1024, description="Largest encoded image.")
    max_image_pixels: int = Field(40_000_000, ge=10_000, le=200_000_000, description="Most pixels (width x height).")

    def limits(self) -> ImageLimits:
        return ImageLimits(self.max_image_bytes, self.max_image_pixels)

    def image(self, instance: Any, field: str = "image") -> Image.Image:
        return instance_image(instance, field, self.limits())


class PretrainedVisionKind:
    """A vision service whose model ships in a wheel: ``install`` writes a manifest, ``load`` builds the predictor.

    Subclasses set ``name``, ``description``, ``Params``, the schemas, ``primary_metric``,
    ``shipped`` (the models named in the manifest) and implement ``predictor(params)``.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    pretrained: ClassVar[bool] = True
    services: ClassVar[dict[str, dict[str, Any]]]
    Params: ClassVar[type[ImageParams]] = ImageParams
    input_schema: ClassVar[dict[str, Any]]
    output_schema: ClassVar[dict[str, Any]]
    primary_metric: ClassVar[Metric]
    shipped: ClassVar[dict[str, str]]

    def predictor(self, params: ImageParams) -> Any:
        raise NotImplementedError

    def check_shipped(self) -> None:
        """Raise ``KindFailed`` naming the missing package when a shipped model is not installed."""
        raise NotImplementedError

    def validate(self, params: BaseModel, columns: tuple[Column, ...]) -> None:
        raise InvalidInput(self._pretrained_note())

    def train(self, data: TrainingData, params: BaseModel, progress: Progress, workdir: Path) -> TrainResult:
        raise InvalidInput(self._pretrained_note())

    def install(self, params: BaseModel, workdir: Path) -> TrainResult:
        """Write the manifest (the params and the shipped models it names) and check the models load."""
        p = self._params(params)
        manifest = {"kind": self.name, "params": p.model_dump(), "models": self.shipped}
        (Path(workdir) / MANIFEST).write_text(json.dumps(manifest, indent=2))
        self.check_shipped()  # fail the install, not the first request, when a model is missing; loads nothing
        return TrainResult({}, self.primary_metric, {"models": self.shipped, "params": p.model_dump()})

    def load(self, workdir: Path) -> Any:
        path = Path(workdir) / MANIFEST
        try:
            manifest = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise KindFailed(f"cannot read the {self.name} manifest at {path}: {exc}") from exc
        return self.predictor(self._params(manifest.get("params", {})))

    # A labelled dataset for evaluate(), and what feedback_rows() writes: the input columns plus the answer.
    input_columns: ClassVar[tuple[str, ...]] = ("image",)
    answer_column: ClassVar[str]

    def score(self, predictor: Any, inputs: list[dict[str, Any]], answers: list[Any]) -> dict[str, Any]:
        raise NotImplementedError

    def evaluate(self, predictor: Any, data: TrainingData, params: BaseModel) -> dict[str, Any]:
        """The kind's metric on a labelled dataset: the input columns (base64 images) and the answer column."""
        needed = [*self.input_columns, self.answer_column]
        missing = [name for name in needed if name not in data.column_names()]
        if missing:
            raise InvalidInput(f"kind {self.name!r} evaluates on columns {needed}; the dataset lacks {missing}")
        rows = [row for row in data.read(needed).to_pylist() if row[self.answer_column] is not None]
        if not rows:
            raise InvalidInput(f"the dataset has no row with a value in {self.answer_column!r}")
        inputs = [{name: row[name] for name in self.input_columns} for row in rows]
        return self.score(predictor, inputs, [row[self.answer_column] for row in rows])

    def feedback_rows(self, params: BaseModel, records: Iterable[FeedbackRecord]) -> list[dict[str, Any]]:
        """A corrected answer (the feedback's ``label``) becomes an evaluation row: the input plus the answer."""
        rows = []
        for record in records:
            label = record.feedback.get("label")
            if label is None or not all(isinstance(record.input.get(name), str) for name in self.input_columns):
                continue
            rows.append({**{name: record.input[name] for name in self.input_columns}, self.answer_column: label})
        return rows

    @classmethod
    def example(cls) -> KindExample:
        image = sample_image_base64()
        inputs = {name: image for name in cls.input_columns}
        return KindExample(
            train=None,
            params={},
            batch=[inputs],
            bad_batch=[{name: "not an image" for name in cls.input_columns}],
            bad_params={"max_image_bytes": -1},
            feedback=[FeedbackRecord(input=inputs, output={}, feedback={"label": cls.example_answer})],
        )

    example_answer: ClassVar[Any] = "x"

    def _params(self, raw: BaseModel | dict[str, Any]) -> ImageParams:
        if isinstance(raw, self.Params):
            return raw
        return parse_params(self, raw.model_dump() if isinstance(raw, BaseModel) else raw)

    def _pretrained_note(self) -> str:
        return (
            f"kind {self.name!r} ships pretrained and is not trained from a dataset; install it "
            f"(flywheel install {self.name}) and change its params to adapt it"
        )


def require_package(module: str, package: str) -> Path:
    """The folder of an installed package, found without importing it; ``KindFailed`` naming it when absent."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise KindFailed(f"the vision services need the package {package} (a dependency of aiflywheel): reinstall it")
    return Path(list(spec.submodule_search_locations)[0])


def sample_image_base64(size: tuple[int, int] = (96, 64)) -> str:
    """A small PNG drawn here (a sun over a field) for examples and conformance checks."""
    image = Image.new("RGB", size, (135, 190, 235))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, size[1] * 2 // 3, size[0], size[1]), fill=(60, 150, 60))
    draw.ellipse((size[0] - 30, 6, size[0] - 8, 28), fill=(250, 210, 40))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def box(left: float, top: float, right: float, bottom: float, width: int, height: int) -> dict[str, float]:
    """A box in pixels and as fractions of the image (what a browser overlay needs), clipped to the image."""
    left, top = max(0.0, float(left)), max(0.0, float(top))
    right, bottom = min(float(width), float(right)), min(float(height), float(bottom))
    return {
        "left": round(left, 1),
        "top": round(top, 1),
        "width": round(max(0.0, right - left), 1),
        "height": round(max(0.0, bottom - top), 1),
        "relative": [
            round(left / width, 4),
            round(top / height, 4),
            round(right / width, 4),
            round(bottom / height, 4),
        ],
    }
