"""Benchmark the vision services on ../shared/data/images, side by side with the engines they build on.

Run: ``.venv/bin/python bench/vision.py`` (add ``--quick`` for a fifth of the OCR lines,
``--only labels,persons`` for some sections)

- Faces: verification accuracy on every labelled pair of faces_dev (95 same, 780 different
  people): each photo is described once through the ``faces`` predictor, a pair matches when
  the similarity of their largest faces is at least 50 (dlib's 0.6 distance).
- OCR: character error rate on the 50 UW-III text lines and the phototest page, for our
  ``text`` service (auto routing), plain Tesseract (``--psm 3``, its default) and plain
  RapidOCR, in the same run. Whitespace runs count as one space.
- Labels: hit rate on the COCO photos (an image is a hit when one of its annotated COCO
  categories is among our labels or their parents), and milliseconds per image one at a
  time, which is what an endpoint sees: classification alone (``person_boxes`` off) and with
  the person boxes (the default).
- Persons: recall and precision at IoU 0.5 on the annotated people of the COCO photos
  (crowd regions ignored, as COCO does), for the ``labels`` service's person boxes (the
  whole photo plus tiles) side by side with a plain SSDLite pass over the whole photo, and
  milliseconds per image for each (decoded photo in, boxes out).
- Moderation: milliseconds per image, and how many of the (benign) COCO photos it flags.
- Memory: resident set size of this process before and after every vision model is loaded.

Timings are medians over the items (one image per call) on this machine's 2 cores.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from aiflywheel.kinds.vision import FacesKind, LabelsKind, ModerationKind, TextKind
from aiflywheel.kinds.vision.faces import similarity
from aiflywheel.kinds.vision.people import Tiling, person_detector
from aiflywheel.kinds.vision.text import character_error_rate, rapidocr

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "images"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rows(relative: str) -> list[dict[str, str]]:
    with (DATA / relative).open() as file:
        return list(csv.DictReader(file))


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def timed(call):
    start = time.perf_counter()
    out = call()
    return out, (time.perf_counter() - start) * 1000


def load(kind, **params):
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{kind.name}-"))
    kind.install(kind.Params(**params), workdir)
    return kind.load(workdir)


def bench_faces(faces) -> list[tuple]:
    embeddings, times = {}, []
    for row in rows("faces/faces_dev.csv"):
        out, ms = timed(
            lambda row=row: faces.predict([{"image": b64(DATA / "faces" / row["file"]), "return_embeddings": True}])
        )
        times.append(ms)
        found = out[0]["faces"]
        embeddings[row["file"]] = np.array(found[0]["embedding"], np.float32) if found else None
    correct, no_face = 0, 0
    pairs = rows("faces/pairs_dev.csv")
    for pair in pairs:
        a, b = embeddings.get(pair["file_a"]), embeddings.get(pair["file_b"])
        match = a is not None and b is not None and similarity(a, b) >= 50.0
        no_face += a is None or b is None
        correct += match == (pair["same_identity"] == "1")
    accuracy = correct / len(pairs)
    return [
        (
            "faces",
            "verification accuracy",
            f"{accuracy:.2%}",
            f"{len(pairs)} pairs, {no_face} with a face missing",
            "≥ 99%",
            accuracy >= 0.99,
        ),
        ("faces", "ms per photo (detect + embed)", f"{statistics.median(times):.0f}", f"{len(times)} photos", "", None),
    ]


def tesseract_plain(path: Path) -> str:
    done = subprocess.run(["tesseract", str(path), "stdout", "-l", "eng"], capture_output=True, timeout=120)
    return done.stdout.decode("utf-8", errors="replace")


def bench_ocr(text, quick: bool) -> list[tuple]:
    lines = [row for row in rows("ocr/ocr_dev.csv") if row["level"] == "line"]
    lines = lines[: len(lines) // 5] if quick else lines
    out = []
    for level, chosen in (
        ("lines", lines),
        ("page", [r for r in rows("ocr/ocr_dev.csv") if r["image"].endswith(".tif")]),
    ):
        truth = [(DATA / "ocr" / row["ground_truth_file"]).read_text() for row in chosen]
        paths = [DATA / "ocr" / row["image"] for row in chosen]
        engines = {
            "ours (auto)": lambda p: text.predict([{"image": b64(p)}])[0]["text"],
            "Tesseract, default page mode": tesseract_plain,
            "RapidOCR": lambda p: "\n".join(line["text"] for line in rapidocr(Image.open(p).convert("RGB"))),
        }
        for engine, read in engines.items():
            results = [timed(lambda p=p, read=read: read(p)) for p in paths]
            cer = character_error_rate([r[0] for r in results], truth)
            target = "≤ 1%" if engine.startswith("ours") and level == "lines" else ""
            met = cer <= 0.01 if target else None
            out.append(
                (
                    f"text: {level}",
                    f"CER, {engine}",
                    f"{cer:.2%}",
                    f"{len(paths)} images, median {statistics.median(r[1] for r in results):.0f} ms",
                    target,
                    met,
                )
            )
    return out


def bench_labels(labels_only, labels) -> list[tuple]:
    """The ``labels`` service (classification) and the ``people`` service (the same with person boxes)."""
    coco = rows("coco/labels_dev.csv")
    hits, times, times_only = [], [], []
    for row in coco:
        image = b64(DATA / "coco" / row["file"])
        labels.predict([{"image": image}])  # warm: the first call of a session allocates
        _, ms_only = timed(lambda image=image: labels_only.predict([{"image": image}]))
        times_only.append(ms_only)
        out, ms = timed(lambda image=image: labels.predict([{"image": image}]))
        times.append(ms)
        named = {label["name"].lower() for label in out[0]["labels"]}
        hits.append(bool(named & {c.strip().lower() for c in row["categories"].split(";")}))
    only = statistics.median(times_only)
    return [
        ("people", "COCO category hit rate", f"{np.mean(hits):.0%}", f"{len(hits)} photos, Person boxes on", "", None),
        ("labels", "ms per image (decode + classify)", f"{only:.0f}", "the labels service", "< 50 ms", only < 50),
        ("people", "ms per image with person boxes", f"{statistics.median(times):.0f}", "the people service", "", None),
    ]


def person_truth() -> dict[str, tuple[list[np.ndarray], list[np.ndarray]]]:
    """Each COCO photo's annotated people (left, top, right, bottom), and its crowd regions apart."""
    annotations = json.loads((DATA / "coco" / "annotations_dev.json").read_text())
    truth = {image["file_name"]: ([], []) for image in annotations["images"]}
    names = {image["id"]: image["file_name"] for image in annotations["images"]}
    for a in annotations["annotations"]:
        if a["category_id"] == 1:
            x, y, w, h = a["bbox"]
            truth[names[a["image_id"]]][1 if a["iscrowd"] else 0].append(np.array([x, y, x + w, y + h]))
    return truth


def iou(box: np.ndarray, other: np.ndarray) -> float:
    inter = max(0, min(box[2], other[2]) - max(box[0], other[0])) * max(
        0, min(box[3], other[3]) - max(box[1], other[1])
    )
    union = (box[2] - box[0]) * (box[3] - box[1]) + (other[2] - other[0]) * (other[3] - other[1]) - inter
    return inter / union if union > 0 else 0.0


def bench_persons() -> list[tuple]:
    """COCO-style matching: boxes best first, each person matched once at IoU >= 0.5; a box on a crowd is ignored."""
    detector = person_detector()
    truth = person_truth()
    out = []
    for name, tiling, target in (
        ("ours (whole photo + 3-across tiles)", Tiling(), "≥ 0.5"),
        ("plain SSDLite pass (whole photo)", Tiling(grid=0), ""),
    ):
        true_positives = false_positives = total = 0
        times = []
        for file, (people, crowds) in truth.items():
            rgb = np.asarray(Image.open(DATA / "coco" / "images" / file).convert("RGB"))
            found, ms = timed(lambda rgb=rgb, tiling=tiling: detector.detect(rgb, tiling))
            times.append(ms)
            total += len(people)
            matched: set[int] = set()
            for person in found:
                box = np.array([person.left, person.top, person.right, person.bottom])
                scores = [(iou(box, p), i) for i, p in enumerate(people) if i not in matched]
                best = max(scores, default=(0.0, -1))
                if best[0] >= 0.5:
                    matched.add(best[1])
                    true_positives += 1
                elif not any(iou(box, crowd) >= 0.5 for crowd in crowds):
                    false_positives += 1
        recall = true_positives / total
        precision = true_positives / max(1, true_positives + false_positives)
        detail = f"{true_positives} of {total} people, precision {precision:.2f}"
        out.append(("persons", f"recall at IoU 0.5, {name}", f"{recall:.2f}", detail, target,
                    recall >= 0.5 if target else None))  # fmt: skip
        out.append(
            ("persons", f"ms per image, {name}", f"{statistics.median(times):.0f}", f"{len(times)} photos", "", None)
        )
    return out


def bench_moderation(moderation) -> list[tuple]:
    coco = rows("coco/labels_dev.csv")
    flagged, times = 0, []
    for row in coco:
        image = b64(DATA / "coco" / row["file"])
        out, ms = timed(lambda image=image: moderation.predict([{"image": image}]))
        times.append(ms)
        flagged += out[0]["flagged"]
    return [
        ("moderation", "benign COCO photos flagged", f"{flagged} of {len(coco)}", "threshold 0.8", "", None),
        ("moderation", "ms per image", f"{statistics.median(times):.0f}", "", "", None),
    ]


def main() -> None:
    quick = "--quick" in sys.argv
    only = set(sys.argv[sys.argv.index("--only") + 1].split(",")) if "--only" in sys.argv else None
    if not DATA.exists():
        sys.exit(f"no data at {DATA}")
    wanted = [
        kind for kind in (LabelsKind(), FacesKind(), ModerationKind(), TextKind()) if only is None or kind.name in only
    ]
    before = rss_mb()
    predictors = {kind.name: load(kind) for kind in wanted}
    tiny = {"image": base64.b64encode((DATA / "coco" / rows("coco/labels_dev.csv")[0]["file"]).read_bytes()).decode()}
    for predictor in predictors.values():
        predictor.predict([tiny])  # every model, RapidOCR's included, is now resident
    loaded = rss_mb()
    table = []
    if only is None:
        table.append(
            (
                "all",
                "resident MB added by the vision models",
                f"{loaded - before:.0f}",
                f"{before:.0f} → {loaded:.0f} MB",
                "≤ 1500",
                loaded - before <= 1500,
            )
        )
    if "labels" in predictors:
        table += bench_labels(predictors["labels"], load(LabelsKind(), **LabelsKind.services["people"]))
    if "faces" in predictors:
        table += bench_faces(predictors["faces"])
    if "moderation" in predictors:
        table += bench_moderation(predictors["moderation"])
    if "text" in predictors:
        table += bench_ocr(predictors["text"], quick)
    if only is None or "persons" in only:
        table += bench_persons()
    print(f"load average while measuring: {' / '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores)\n")
    header = ("service", "measure", "value", "detail", "target", "met")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for service, measure, value, detail, target, met in table:
        mark = "" if met is None else ("yes" if met else "no")
        print(f"| {service} | {measure} | {value} | {detail} | {target} | {mark} |")


if __name__ == "__main__":
    main()
