"""The ``faces`` kind: find faces (box, 5 landmarks, quality) and compare two photos (similarity 0-100, match).

dlib's HOG face detector, its 5-point landmark model and its ResNet face embedding (128
floats; two photos of one person are within 0.6 of each other). The models ship in the
``face-recognition-models`` package (MIT; the 5-point and ResNet models are public domain),
located without importing it (its ``__init__`` needs the removed ``pkg_resources``). The
68-point landmark model in the same package is licensed for non-commercial use only and is
never loaded.
"""

from __future__ import annotations

import importlib.util
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from aiflywheel.errors import InvalidInput, KindFailed
from aiflywheel.kernel.kinds import Metric
from aiflywheel.kinds.components.images import rgb_array
from aiflywheel.kinds.vision.common import ImageParams, PretrainedVisionKind, box, require_package

LANDMARKS = ("right_eye_outer", "right_eye_inner", "left_eye_outer", "left_eye_inner", "nose")
DISTANCE_SCALE = 1.2  # similarity = 100 * (1 - distance / 1.2): dlib's 0.6 same-person distance is 50
DETECT_SIDE = 800  # faces are found on a copy at most this large (HOG time grows with pixels)


MODEL_FILES = ("shape_predictor_5_face_landmarks.dat", "dlib_face_recognition_resnet_model_v1.dat")


def _models_folder() -> Path:
    return require_package("face_recognition_models", "face-recognition-models") / "models"


class FaceEngine:
    """Detection, landmarks and embeddings; one lock because dlib's objects are not documented thread-safe."""

    def __init__(self):
        import dlib

        folder = _models_folder()
        self._detector = dlib.get_frontal_face_detector()
        self._shape = dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat"))
        self._encoder = dlib.face_recognition_model_v1(str(folder / "dlib_face_recognition_resnet_model_v1.dat"))
        self._dlib = dlib
        self._lock = threading.Lock()

    def faces(self, rgb: np.ndarray, min_score: float = 0.0, upsample: int = 1) -> list[dict[str, Any]]:
        """Faces largest first: box (pixels), landmarks, detector score, sharpness and a 128-float embedding."""
        height, width = rgb.shape[:2]
        scale = min(1.0, DETECT_SIDE / max(height, width))
        small = rgb if scale == 1.0 else _resize(rgb, scale)
        with self._lock:
            # Doubling the image finds small faces but costs 4x: only when a plain pass finds none.
            for times in range(upsample + 1):
                rects, scores, _ = self._detector.run(small, times, min_score)
                if len(rects):
                    break
            found = []
            for rect, score in zip(rects, scores, strict=True):
                full = self._dlib.rectangle(
                    int(rect.left() / scale),
                    int(rect.top() / scale),
                    int(rect.right() / scale),
                    int(rect.bottom() / scale),
                )
                shape = self._shape(rgb, full)
                embedding = np.array(self._encoder.compute_face_descriptor(rgb, shape, 0), dtype=np.float32)
                points = [(shape.part(i).x, shape.part(i).y) for i in range(shape.num_parts)]
                found.append({"rect": full, "score": float(score), "points": points, "embedding": embedding})
        found.sort(key=lambda face: -face["rect"].area())
        return found


def _resize(rgb: np.ndarray, scale: float) -> np.ndarray:
    from PIL import Image

    height, width = rgb.shape[:2]
    image = Image.fromarray(rgb).resize((max(1, round(width * scale)), max(1, round(height * scale))))
    return np.ascontiguousarray(np.asarray(image))


@lru_cache(maxsize=1)
def face_engine() -> FaceEngine:
    return FaceEngine()


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """0-100 from the embeddings' distance: 100 identical, 50 at dlib's same-person threshold, 0 far apart."""
    return similarity_from_distance(float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32))))


def similarity_from_distance(distance: float) -> float:
    return round(max(0.0, 100.0 * (1.0 - distance / DISTANCE_SCALE)), 2)


def _sharpness(gray: np.ndarray) -> float:
    """Variance of a Laplacian over the face, squashed to 0..1: blurred faces embed badly."""
    if gray.shape[0] < 3 or gray.shape[1] < 3:
        return 0.0
    lap = 4 * gray[1:-1, 1:-1] - gray[:-2, 1:-1] - gray[2:, 1:-1] - gray[1:-1, :-2] - gray[1:-1, 2:]
    return float(1.0 - np.exp(-float(lap.var()) / 300.0))


class FacesParams(ImageParams):
    match_threshold: float = Field(
        50.0, ge=0.0, le=100.0, description="Similarity (0-100) at or above which two faces are the same person."
    )
    min_detection_score: float = Field(0.0, ge=-1.0, le=3.0, description="Faces the detector scores lower are dropped.")
    upsample: int = Field(
        1, ge=0, le=2, description="Most times the image is doubled when no face is found (finds small faces, slower)."
    )
    max_faces: int = Field(20, ge=1, le=200, description="Most faces returned per image.")


class FacesPredictor:
    def __init__(self, params: FacesParams):
        self.params = params
        self.engine = face_engine()

    def predict(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for position, instance in enumerate(batch):
            if not isinstance(instance, dict) or not (
                {"image"} <= instance.keys() or {"source", "target"} <= instance.keys()
            ):
                raise InvalidInput(
                    f'instance {position}: send {{"image": "<base64>"}} to find faces, or '
                    '{"source": "<base64>", "target": "<base64>"} to compare'
                )
        return [self._one(instance) for instance in batch]

    def _one(self, instance: dict[str, Any]) -> dict[str, Any]:
        embeddings = bool(instance.get("return_embeddings", False))
        if "source" in instance:
            return self._compare(instance)
        image = self.params.image(instance)
        faces = [_public(face) for face in self._describe(image, embeddings)]
        return {"faces": faces, "width": image.size[0], "height": image.size[1]}

    def _describe(self, image, embeddings: bool) -> list[dict[str, Any]]:
        rgb = rgb_array(image)
        gray = rgb.mean(axis=2)
        out = []
        found = self.engine.faces(rgb, self.params.min_detection_score, self.params.upsample)
        for face in found[: self.params.max_faces]:
            rect = face["rect"]
            crop = gray[max(0, rect.top()) : rect.bottom(), max(0, rect.left()) : rect.right()]
            sharp = _sharpness(crop)
            size = min(1.0, min(rect.width(), rect.height()) / 100.0)  # 100 px across is plenty for the embedding
            detection = float(1.0 / (1.0 + np.exp(-2.0 * face["score"])))
            described = {
                "box": box(rect.left(), rect.top(), rect.right(), rect.bottom(), *image.size),
                "confidence": round(detection, 4),
                "landmarks": [
                    {"type": name, "x": int(x), "y": int(y)}
                    for name, (x, y) in zip(LANDMARKS, face["points"], strict=False)
                ],
                "quality": {
                    "score": round((detection * sharp * size) ** (1 / 3), 4),
                    "sharpness": round(sharp, 4),
                    "size": round(size, 4),
                },
            }
            if embeddings:
                described["embedding"] = [round(float(v), 6) for v in face["embedding"]]
            described["_embedding"] = face["embedding"]
            out.append(described)
        return out

    def _compare(self, instance: dict[str, Any]) -> dict[str, Any]:
        source_image = self.params.image(instance, "source")
        target_image = self.params.image(instance, "target")
        source = self._describe(source_image, False)
        target = self._describe(target_image, False)
        result: dict[str, Any] = {"threshold": self.params.match_threshold}
        if not source:
            result.update(
                source_face=None,
                matches=[],
                unmatched=[_public(face) for face in target],
                match=False,
                note="no face found in source",
            )
            return result
        reference = source[0]
        matches, unmatched = [], []
        for face in target:
            score = similarity(reference["_embedding"], face["_embedding"])
            entry = {**_public(face), "similarity": score}
            (matches if score >= self.params.match_threshold else unmatched).append(entry)
        matches.sort(key=lambda face: -face["similarity"])
        best = max([m["similarity"] for m in matches + unmatched], default=0.0)
        result.update(
            source_face=_public(reference), matches=matches, unmatched=unmatched, similarity=best, match=bool(matches)
        )
        if not target:
            result["note"] = "no face found in target"
        return result

    def embeddings(self, image) -> list[np.ndarray]:
        return [face["_embedding"] for face in self._describe(image, False)]


def _public(face: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in face.items() if not key.startswith("_")}


class FacesKind(PretrainedVisionKind):
    name: ClassVar[str] = "faces"
    description: ClassVar[str] = (
        "Find faces (box, landmarks, quality) and compare two photos (similarity 0-100, match)."
    )
    services: ClassVar[dict[str, dict[str, Any]]] = {"faces": {}}
    Params: ClassVar[type[ImageParams]] = FacesParams
    input_schema: ClassVar[dict[str, Any]] = {
        "oneOf": [
            {
                "type": "object",
                "required": ["image"],
                "properties": {"image": {"type": "string"}, "return_embeddings": {"type": "boolean"}},
            },
            {
                "type": "object",
                "required": ["source", "target"],
                "properties": {"source": {"type": "string"}, "target": {"type": "string"}},
            },
        ]
    }
    output_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "faces": {"type": "array"},
            "matches": {"type": "array"},
            "match": {"type": "boolean"},
            "similarity": {"type": "number"},
        },
    }
    primary_metric: ClassVar[Metric] = Metric("verification_accuracy", True)
    shipped: ClassVar[dict[str, str]] = {
        "detector": "dlib HOG frontal face detector (dlib-bin 20.0.1, Boost Software License)",
        "landmarks": "dlib shape_predictor_5_face_landmarks (face-recognition-models 0.3.0, public domain)",
        "embedding": "dlib_face_recognition_resnet_model_v1 (face-recognition-models 0.3.0, public domain)",
    }

    input_columns: ClassVar[tuple[str, ...]] = ("source", "target")
    answer_column: ClassVar[str] = "same"
    example_answer: ClassVar[Any] = False

    def predictor(self, params: ImageParams) -> FacesPredictor:
        return FacesPredictor(params)

    def check_shipped(self) -> None:
        if importlib.util.find_spec("dlib") is None:
            raise KindFailed("faces need dlib (the package dlib-bin, a dependency of aiflywheel): reinstall it")
        missing = [name for name in MODEL_FILES if not (_models_folder() / name).exists()]
        if missing:
            raise KindFailed(f"face models missing from face-recognition-models: {missing}; reinstall it")

    def score(self, predictor: FacesPredictor, inputs: list[dict[str, Any]], answers: list[Any]) -> dict[str, Any]:
        """Verification accuracy on labelled pairs (a pair with no face in either photo counts as 'different')."""
        matched = [output["match"] for output in predictor.predict(inputs)]
        truth = [str(answer).lower() in ("1", "true", "yes", "same") for answer in answers]
        correct = [a == b for a, b in zip(matched, truth, strict=True)]
        return {"verification_accuracy": sum(correct) / len(correct), "n_pairs": len(correct)}
