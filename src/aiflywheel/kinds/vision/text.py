"""The ``text`` kind: lines and words in an image, with boxes and confidences.

Two engines, each where it is strong. Tesseract 5 (Apache-2.0, the Debian package
``tesseract-ocr``, run as a separate process) reads documents, scans and clean text lines
almost perfectly but loses text on busy photos; RapidOCR (PP-OCRv4 detection and
recognition as ONNX in the wheel ``rapidocr-onnxruntime``, Apache-2.0) finds text anywhere
in a photo but drops spaces and misreads serif fonts. ``engine: auto`` sends an image that
looks like a document (a light, even, unsaturated background) to Tesseract and anything
else to RapidOCR; without a ``tesseract`` binary everything goes to RapidOCR.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import threading
from functools import lru_cache
from typing import Any, ClassVar, Literal

import numpy as np
from PIL import Image
from pydantic import Field

from aiflywheel.errors import KindFailed
from aiflywheel.kernel.kinds import Metric
from aiflywheel.kinds.components.images import rgb_array
from aiflywheel.kinds.vision.common import ImageParams, PretrainedVisionKind, box, require_package
from aiflywheel.kinds.vision.labels import IMAGE_INPUT

TESSERACT_TIMEOUT = 120  # seconds for one image; a scanned page takes about one


def tesseract_available() -> bool:
    return shutil.which("tesseract") is not None


def looks_like_document(rgb: np.ndarray) -> bool:
    """A light, even, unsaturated background covering most of the image: a page, a scan, a screenshot of text."""
    scale = min(1.0, 512 / max(rgb.shape[:2]))
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    # Nearest neighbour: averaging would blend thin ink into the paper and make a page look uneven.
    small = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.NEAREST), np.float32)
    gray = small.mean(axis=2)
    background = float(np.median(gray))
    even = float(np.mean(np.abs(gray - background) < 30))
    saturation = float(np.median(small.max(axis=2) - small.min(axis=2)))
    return background > 150 and even > 0.5 and saturation < 40


def tesseract(image: Image.Image, language: str) -> list[dict[str, Any]]:
    """Lines of words from Tesseract's TSV output; a one-line image is read as a single line (page mode 7)."""
    width, height = image.size
    single_line = height <= 160 and width >= 3 * height
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    command = ["tesseract", "stdin", "stdout", "-l", language, "--psm", "7" if single_line else "3", "tsv"]
    try:
        done = subprocess.run(command, input=buffer.getvalue(), capture_output=True, timeout=TESSERACT_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise KindFailed(f"tesseract failed: {exc}") from exc
    if done.returncode != 0:
        raise KindFailed(f"tesseract failed: {done.stderr.decode(errors='replace').strip()[:300]}")
    lines: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    reader = csv.DictReader(
        io.StringIO(done.stdout.decode("utf-8", errors="replace")), delimiter="\t", quoting=csv.QUOTE_NONE
    )
    for row in reader:
        text = (row.get("text") or "").strip()
        if row.get("level") != "5" or not text:
            continue
        left, top = int(row["left"]), int(row["top"])
        right, bottom = left + int(row["width"]), top + int(row["height"])
        key = (row["block_num"], row["par_num"], row["line_num"])
        lines.setdefault(key, []).append(
            {
                "text": text,
                "confidence": round(max(0.0, float(row["conf"])) / 100.0, 4),
                "bounds": (left, top, right, bottom),
            }
        )
    return [_line(words, width, height) for words in lines.values()]


@lru_cache(maxsize=1)
def _rapidocr():
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as exc:
        raise KindFailed(f"text in photos needs rapidocr-onnxruntime (a dependency of aiflywheel): {exc}") from exc
    return RapidOCR(intra_op_num_threads=2, inter_op_num_threads=1)


_RAPID_LOCK = threading.Lock()


def rapidocr(image: Image.Image) -> list[dict[str, Any]]:
    """Lines from RapidOCR (passed a BGR array: it misreads palette and grayscale images given by path)."""
    width, height = image.size
    bgr = np.ascontiguousarray(rgb_array(image)[:, :, ::-1])
    with _RAPID_LOCK:
        result, _ = _rapidocr()(bgr)
    out = []
    for points, text, score in result or []:
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        left, top, right, bottom = min(xs), min(ys), max(xs), max(ys)
        pieces = text.split()
        # RapidOCR boxes lines, not words: share the line's box among its words by their length.
        total = max(1, sum(len(piece) for piece in pieces) + len(pieces) - 1)
        words, cursor = [], left
        for piece in pieces:
            span = (right - left) * len(piece) / total
            words.append(
                {"text": piece, "confidence": round(float(score), 4), "bounds": (cursor, top, cursor + span, bottom)}
            )
            cursor += span + (right - left) / total
        if words:
            out.append(_line(words, width, height))
    return out


def _line(words: list[dict[str, Any]], width: int, height: int) -> dict[str, Any]:
    bounds = [word.pop("bounds") for word in words]
    for word, (left, top, right, bottom) in zip(words, bounds, strict=True):
        word["box"] = box(left, top, right, bottom, width, height)
    return {
        "text": " ".join(word["text"] for word in words),
        "confidence": round(float(np.mean([word["confidence"] for word in words])), 4),
        "box": box(
            min(b[0] for b in bounds),
            min(b[1] for b in bounds),
            max(b[2] for b in bounds),
            max(b[3] for b in bounds),
            width,
            height,
        ),
        "words": words,
    }


class TextParams(ImageParams):
    engine: Literal["auto", "tesseract", "rapidocr"] = Field(
        "auto", description="auto: documents to Tesseract, photos to RapidOCR."
    )
    language: str = Field("eng", pattern=r"^[a-z_]{3,}(\+[a-z_]{3,})*$", description="Tesseract language(s), e.g. eng.")
    min_confidence: float = Field(0.0, ge=0.0, le=1.0, description="Lines below this confidence are left out.")


class TextPredictor:
    def __init__(self, params: TextParams):
        self.params = params
        if params.engine == "tesseract" and not tesseract_available():
            raise KindFailed("engine 'tesseract' needs the tesseract program: apt-get install tesseract-ocr")

    def predict(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        images = [self.params.image(instance) for instance in batch]
        return [self._read(image) for image in images]

    def engine_for(self, image: Image.Image) -> str:
        if self.params.engine != "auto":
            return self.params.engine
        if tesseract_available() and looks_like_document(rgb_array(image)):
            return "tesseract"
        return "rapidocr"

    def _read(self, image: Image.Image) -> dict[str, Any]:
        engine = self.engine_for(image)
        lines = tesseract(image, self.params.language) if engine == "tesseract" else rapidocr(image)
        lines = [line for line in lines if line["confidence"] >= self.params.min_confidence]
        return {
            "text": "\n".join(line["text"] for line in lines),
            "lines": lines,
            "engine": engine,
            "width": image.size[0],
            "height": image.size[1],
        }


class TextKind(PretrainedVisionKind):
    name: ClassVar[str] = "text"
    description: ClassVar[str] = "Text in an image: lines and words with boxes and confidences (documents and photos)."
    services: ClassVar[dict[str, dict[str, Any]]] = {"text": {}}
    Params: ClassVar[type[ImageParams]] = TextParams
    input_schema: ClassVar[dict[str, Any]] = IMAGE_INPUT
    output_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"text": {"type": "string"}, "lines": {"type": "array"}, "engine": {"type": "string"}},
    }
    primary_metric: ClassVar[Metric] = Metric("character_error_rate", False)
    shipped: ClassVar[dict[str, str]] = {
        "documents": "Tesseract 5 with the eng model (Debian tesseract-ocr, Apache-2.0; a separate process)",
        "photos": "RapidOCR PP-OCRv4 det/rec/cls ONNX (wheel rapidocr-onnxruntime 1.4.4, Apache-2.0)",
    }

    answer_column: ClassVar[str] = "text"
    example_answer: ClassVar[Any] = ""

    def predictor(self, params: ImageParams) -> TextPredictor:
        return TextPredictor(params)

    def check_shipped(self) -> None:
        require_package("rapidocr_onnxruntime", "rapidocr-onnxruntime")

    def score(self, predictor: TextPredictor, inputs: list[dict[str, Any]], answers: list[Any]) -> dict[str, Any]:
        outputs = predictor.predict(inputs)
        return {
            "character_error_rate": character_error_rate([o["text"] for o in outputs], [str(a) for a in answers]),
            "n_images": len(outputs),
        }


def _normalise(text: str) -> str:
    return " ".join(text.split())


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, one row at a time (numpy over the inner loop)."""
    if not a:
        return len(b)
    previous = np.arange(len(b) + 1)
    for i, char in enumerate(a, start=1):
        current = np.empty_like(previous)
        current[0] = i
        substitution = previous[:-1] + (np.frombuffer(b.encode("utf-32-le"), np.uint32) != ord(char))
        current[1:] = np.minimum(previous[1:] + 1, substitution)
        current[1:] = np.minimum.accumulate(current[1:] - np.arange(1, len(b) + 1)) + np.arange(1, len(b) + 1)
        current[1:] = np.minimum(current[1:], current[0] + np.arange(1, len(b) + 1))
        previous = current
    return int(previous[-1])


def character_error_rate(predicted: list[str], expected: list[str]) -> float:
    """Edits needed over characters expected, whitespace runs counted as one space."""
    edits = sum(edit_distance(_normalise(p), _normalise(e)) for p, e in zip(predicted, expected, strict=True))
    return edits / max(1, sum(len(_normalise(e)) for e in expected))
