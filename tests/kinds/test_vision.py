"""The vision kinds on real images from ../shared/data/images and on images drawn here; models load once."""

from __future__ import annotations

import base64
import csv
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image, ImageDraw, ImageFont

from aiflywheel.errors import InvalidInput, PayloadTooLarge
from aiflywheel.kernel.kinds import Column, FeedbackRecord, TrainingData
from aiflywheel.kinds.components.images import ImageLimits, decode_image
from aiflywheel.kinds.vision import FacesKind, ImageClassifierKind, LabelsKind, ModerationKind, TextKind
from aiflywheel.kinds.vision.text import character_error_rate, tesseract_available
from aiflywheel.testing import check_kind

IMAGES = Path(__file__).resolve().parents[3] / "shared" / "data" / "images"
needs_data = pytest.mark.skipif(not IMAGES.exists(), reason="../shared/data/images is not here")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def read_csv(relative: str) -> list[dict[str, str]]:
    with (IMAGES / relative).open() as file:
        return list(csv.DictReader(file))


def file64(relative: str) -> str:
    return b64((IMAGES / relative).read_bytes())


@pytest.fixture(scope="session")
def installed(tmp_path_factory):
    """Each kind installed once and loaded: the predictors the tests share."""
    predictors = {}
    for kind in (LabelsKind(), FacesKind(), ModerationKind(), TextKind()):
        workdir = tmp_path_factory.mktemp(kind.name)
        kind.install(kind.Params(), workdir)
        predictors[kind.name] = kind.load(workdir)
    return predictors


# --- image input -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "GIF"])
def test_every_accepted_format_decodes_to_rgb(fmt):
    image = Image.new("RGB", (40, 30), (200, 30, 30))
    decoded = decode_image(b64(encoded(image, fmt)))
    assert decoded.mode == "RGB" and decoded.size == (40, 30)


def test_a_data_url_is_accepted():
    data = encoded(Image.new("RGB", (8, 8)), "PNG")
    assert decode_image("data:image/png;base64," + b64(data)).size == (8, 8)


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (60, 20), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    rotated = decode_image(b64(encoded(image, "JPEG", exif=exif.tobytes())))
    assert rotated.size == (20, 60)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("%%% not base64 %%%", "not valid base64"),
        (b64(b"just some text, no picture"), "not an image"),
        ("", "empty"),
        (None, "missing"),
        (42, "must be a base64 string"),
    ],
)
def test_unusable_input_names_the_field_and_the_problem(value, problem):
    with pytest.raises(InvalidInput) as caught:
        decode_image(value, "image")
    assert str(caught.value).startswith("image:") and problem in str(caught.value)


def test_a_truncated_image_is_rejected():
    whole = encoded(Image.effect_noise((200, 200), 60).convert("RGB"), "JPEG")
    with pytest.raises(InvalidInput, match="truncated|damaged|cannot be read"):
        decode_image(b64(whole[: len(whole) // 2]))


def test_too_large_images_are_413s():
    data = encoded(Image.new("RGB", (300, 300)), "PNG")
    with pytest.raises(PayloadTooLarge, match="pixels"):
        decode_image(b64(data), limits=ImageLimits(max_pixels=50_000))
    with pytest.raises(PayloadTooLarge, match="bytes"):
        decode_image(b64(data), limits=ImageLimits(max_bytes=100))


def test_a_tiff_is_a_document_not_an_unknown_format_but_an_icon_is_refused():
    assert decode_image(b64(encoded(Image.new("RGB", (5, 5)), "TIFF"))).size == (5, 5)
    with pytest.raises(InvalidInput, match="ICO images are not accepted"):
        decode_image(b64(encoded(Image.new("RGB", (16, 16)), "ICO")))


def test_params_limits_reach_the_predictor(installed, tmp_path):
    kind = LabelsKind()
    kind.install(kind.Params(max_image_pixels=10_000), tmp_path)
    big = b64(encoded(Image.new("RGB", (200, 200)), "PNG"))
    with pytest.raises(PayloadTooLarge):
        kind.load(tmp_path).predict([{"image": big}])


# --- labels ------------------------------------------------------------------------------------


@needs_data
def test_labels_name_what_is_in_a_photo_with_parents(installed):
    (out,) = installed["labels"].predict([{"image": file64("coco/images/000000000194.jpg")}])
    names = {label["name"]: label for label in out["labels"]}
    assert "Broccoli" in names and names["Broccoli"]["parents"] == ["Vegetable", "Food"]
    assert names["Food"]["confidence"] >= names["Broccoli"]["confidence"]
    assert all(0 < label["confidence"] <= 1 for label in out["labels"])


@needs_data
def test_labels_hit_most_coco_photos(installed):
    rows = read_csv("coco/labels_dev.csv")[:12]
    inputs = [{"image": file64("coco/" + row["file"])} for row in rows]
    answers = [row["categories"] for row in rows]
    metrics = LabelsKind().score(installed["labels"], inputs, answers)
    assert metrics["label_hit_rate"] >= 0.5


def test_labels_reject_an_instance_without_an_image(installed):
    with pytest.raises(InvalidInput, match='no "image" field'):
        installed["labels"].predict([{"picture": "x"}])


# --- faces -------------------------------------------------------------------------------------


@needs_data
def test_faces_are_found_with_landmarks_and_quality(installed):
    (out,) = installed["faces"].predict([{"image": file64("faces/deepface/img1.jpg")}])
    assert len(out["faces"]) == 1
    face = out["faces"][0]
    assert len(face["landmarks"]) == 5 and 0 < face["quality"]["score"] <= 1
    assert face["box"]["width"] > 50 and "embedding" not in face


@needs_data
def test_faces_compare_labelled_pairs(installed):
    rows = read_csv("faces/pairs_dev.csv")
    same = [r for r in rows if r["same_identity"] == "1"][:3]
    different = [r for r in rows if r["same_identity"] == "0"][:3]
    inputs = [
        {"source": file64("faces/" + r["file_a"]), "target": file64("faces/" + r["file_b"])} for r in same + different
    ]
    metrics = FacesKind().score(installed["faces"], inputs, [1] * 3 + [0] * 3)
    assert metrics["verification_accuracy"] >= 0.9
    out = installed["faces"].predict(inputs[:1])[0]
    assert out["match"] and 50 <= out["similarity"] <= 100


def test_faces_say_when_there_is_no_face_and_reject_half_a_pair(installed):
    blank = b64(encoded(Image.new("RGB", (120, 120), "gray"), "PNG"))
    assert installed["faces"].predict([{"image": blank}])[0]["faces"] == []
    compared = installed["faces"].predict([{"source": blank, "target": blank}])[0]
    assert compared["match"] is False and "no face" in compared["note"]
    with pytest.raises(InvalidInput, match="source.*target"):
        installed["faces"].predict([{"source": blank}])
    with pytest.raises(InvalidInput, match="^target:"):
        installed["faces"].predict([{"source": blank, "target": "bad"}])


# --- moderation --------------------------------------------------------------------------------


@needs_data
def test_moderation_scores_benign_photos_as_safe(installed):
    out = installed["moderation"].predict([{"image": file64("coco/images/000000000194.jpg")}])[0]
    assert out["unsafe_score"] < 0.2 and out["flagged"] is False and out["labels"] == []


# --- text --------------------------------------------------------------------------------------


@needs_data
@pytest.mark.skipif(not tesseract_available(), reason="tesseract is not installed (scripts/system-packages)")
def test_text_lines_are_read_by_tesseract_nearly_exactly(installed):
    lines = sorted((IMAGES / "ocr" / "lines").glob("*.png"))[:5]
    outputs = installed["text"].predict([{"image": b64(p.read_bytes())} for p in lines])
    truth = [(p.parent / p.name.replace(".bin.png", ".gt.txt")).read_text().strip() for p in lines]
    assert {o["engine"] for o in outputs} == {"tesseract"}
    assert character_error_rate([o["text"] for o in outputs], truth) <= 0.02
    word = outputs[0]["lines"][0]["words"][0]
    assert word["box"]["width"] > 0 and 0 <= word["confidence"] <= 1


def test_text_in_a_photo_goes_to_rapidocr_with_boxes(installed):
    image = Image.new("RGB", (480, 160), (40, 90, 160))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=40)
    draw.rectangle((0, 110, 480, 160), fill=(200, 120, 40))
    draw.text((30, 40), "OPEN 24 HOURS", font=font, fill=(255, 255, 255))
    (out,) = installed["text"].predict([{"image": b64(encoded(image, "PNG"))}])
    assert out["engine"] == "rapidocr"
    assert character_error_rate([out["text"].replace(" ", "")], ["OPEN24HOURS"]) <= 0.2
    assert out["lines"][0]["box"]["width"] > 100


def test_character_error_rate_counts_edits():
    assert character_error_rate(["hello world"], ["hello  world"]) == 0.0
    assert character_error_rate(["helo"], ["hello"]) == pytest.approx(0.2)


# --- custom labels -----------------------------------------------------------------------------


def test_custom_labels_conform_and_learn_from_drawn_images(tmp_path):
    metrics = check_kind(ImageClassifierKind(), workdir=tmp_path)
    assert metrics["accuracy"] >= 0.75 and metrics["n_labels"] == 2


@needs_data
def test_custom_labels_tell_apart_real_photos_and_corrections_become_rows(tmp_path):
    faces = read_csv("faces/faces_dev.csv")
    coco = read_csv("coco/labels_dev.csv")
    rows = [{"image": file64("faces/" + r["file"]), "label": "portrait"} for r in faces[:10]]
    rows += [{"image": file64("coco/" + r["file"]), "label": "scene"} for r in coco[:10]]
    kind = ImageClassifierKind()
    params = kind.Params(test_size=0.3)
    path = tmp_path / "data.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    data = TrainingData(path, (Column("image", "string", "text"), Column("label", "string", "categorical")))
    result = kind.train(data, params, lambda *a, **k: None, tmp_path)
    assert result.metrics["accuracy"] >= 0.8
    predictor = kind.load(tmp_path)
    (out,) = predictor.predict([{"image": file64("faces/" + faces[20]["file"])}])
    assert out["label"] == "portrait" and out["labels"][0]["confidence"] > 0.5
    corrected = FeedbackRecord(input={"image": rows[0]["image"]}, output=out, feedback={"label": "selfie"})
    assert kind.feedback_rows(params, [corrected]) == [{"image": rows[0]["image"], "label": "selfie"}]


def test_custom_labels_refuse_a_dataset_with_one_label(tmp_path):
    image = ImageClassifierKind.example().train.column("image")[0].as_py()
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table({"image": [image] * 4, "label": ["cat"] * 4}), path)
    data = TrainingData(path, (Column("image", "string", "text"), Column("label", "string", "categorical")))
    with pytest.raises(InvalidInput, match="at least two different labels"):
        ImageClassifierKind().train(data, ImageClassifierKind.Params(), lambda *a, **k: None, tmp_path)
