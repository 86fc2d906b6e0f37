"""The vision services at first start, through the standard invocations path: predictions and 4xx for bad images."""

from __future__ import annotations

import base64
import csv
import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from PIL import Image, ImageDraw, ImageOps

from aiflywheel import Client
from aiflywheel.interfaces.cli import vision as vision_command
from aiflywheel.kernel.worker import execute
from aiflywheel.testing import run_cli

SERVICES = {"labels", "faces", "moderation", "text"}


def png64(size=(64, 48)) -> str:
    image = Image.new("RGB", size, (90, 160, 220))
    ImageDraw.Draw(image).ellipse((10, 10, 40, 40), fill=(240, 200, 30))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture(scope="module")
def services(world):
    world.platform.provision_services()
    return {endpoint.name for endpoint in world.platform.endpoints.list()}


def test_the_vision_services_are_endpoints_at_first_start(services):
    assert services >= SERVICES


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_service_answers_an_image(world, services, name):
    answer = world.invoke(instances=[{"image": png64()}], endpoint=name)
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["predictions"]) == 1 and len(answer.json()["prediction_ids"]) == 1


def test_faces_compare_two_images_through_the_same_path(world, services):
    answer = world.invoke(instances=[{"source": png64(), "target": png64()}], endpoint="faces")
    assert answer.status_code == 200
    assert answer.json()["predictions"][0]["match"] is False


@pytest.mark.parametrize(
    ("instance", "status", "words"),
    [
        ({"image": base64.b64encode(b"plain text, no picture").decode()}, 400, "image: not an image"),
        ({"image": "***"}, 400, "image: is not valid base64"),
        ({"photo": png64()}, 400, 'no "image" field'),
        ({"image": png64((4000, 4000))}, 200, None),
    ],
)
def test_bad_images_are_4xx_naming_the_problem(world, services, instance, status, words):
    answer = world.invoke(instances=[instance], endpoint="labels")
    assert answer.status_code == status, answer.text
    if words:
        assert words in answer.json()["error"]["message"]


def test_an_image_over_the_pixel_limit_is_413(world, services):
    installed = world.call(
        "writer", "POST", "/v1/models/labels/install", json={"kind": "labels", "params": {"max_image_pixels": 10000}}
    )
    assert installed.status_code == 201
    answer = world.invoke(instances=[{"image": png64((200, 200))}], endpoint="labels")
    assert answer.status_code == 413 and "pixels" in answer.json()["error"]["message"]
    restored = world.call("writer", "POST", "/v1/models/labels/install", json={"kind": "labels", "params": {}})
    assert restored.status_code == 201  # later tests send photos larger than 10,000 pixels


FACES = Path(__file__).resolve().parents[4] / "shared" / "data" / "images" / "faces"
needs_faces = pytest.mark.skipif(not FACES.exists(), reason="../shared/data/images/faces is not here")


def face64(name: str) -> str:
    return base64.b64encode((FACES / name).read_bytes()).decode()


def test_a_multipart_upload_is_the_same_invocation(world, services):
    data = base64.b64decode(png64())
    answer = world.call(
        "reader", "POST", "/v1/endpoints/labels/upload", files={"image": ("sky.png", data, "image/png")}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"][0]["labels"] and answer.json()["prediction_ids"]
    compare = world.call(
        "reader",
        "POST",
        "/v1/endpoints/faces/upload",
        files={"source": ("a.png", data, "image/png"), "target": ("b.png", data, "image/png")},
    )
    assert compare.status_code == 200 and compare.json()["predictions"][0]["match"] is False
    no_file = world.call("reader", "POST", "/v1/endpoints/labels/upload", data={"note": "x"})
    assert no_file.status_code == 400 and 'file field "image"' in no_file.json()["error"]["message"]
    not_image = world.call("reader", "POST", "/v1/endpoints/labels/upload", files={"image": ("a.txt", b"hello")})
    assert not_image.status_code == 400 and "image: not an image" in not_image.json()["error"]["message"]


@needs_faces
def test_face_collections_index_search_list_and_delete(world, services):
    assert world.call("reader", "POST", "/v1/face-collections", json={"name": "staff"}).status_code == 403
    assert world.call("writer", "POST", "/v1/face-collections", json={"name": "staff"}).status_code == 201
    assert world.call("writer", "POST", "/v1/face-collections", json={"name": "staff"}).status_code == 409
    people = read_pairs()
    for external_id, photo in people[:2]:
        indexed = world.call(
            "writer",
            "POST",
            "/v1/face-collections/staff/faces",
            json={"image": face64(photo), "external_id": external_id},
        )
        assert indexed.status_code == 201, indexed.text
    listed = world.call("reader", "GET", "/v1/face-collections/staff/faces").json()
    assert [face["external_id"] for face in listed] == [people[0][0], people[1][0]]
    assert world.call("reader", "GET", "/v1/face-collections").json()[0]["faces"] == 2

    probe = people[2][1]  # another photo of the first person
    found = world.call("reader", "POST", "/v1/face-collections/staff/search", json={"image": face64(probe)}).json()
    assert [match["external_id"] for match in found["matches"]] == [people[0][0]]
    assert found["matches"][0]["similarity"] >= 50

    blank = world.call(
        "writer", "POST", "/v1/face-collections/staff/faces", json={"image": png64(), "external_id": "nobody"}
    )
    assert blank.status_code == 400 and "no face" in blank.json()["error"]["message"]
    missing = world.call("reader", "POST", "/v1/face-collections/nope/search", json={"image": png64()})
    assert missing.status_code == 404

    face_id = listed[0]["face_id"]
    assert world.call("writer", "DELETE", f"/v1/face-collections/staff/faces/{face_id}").status_code == 204
    assert world.call("writer", "DELETE", f"/v1/face-collections/staff/faces/{face_id}").status_code == 404
    assert world.call("writer", "DELETE", "/v1/face-collections/staff").status_code == 204
    assert world.call("reader", "GET", "/v1/face-collections/staff").status_code == 404


def read_pairs() -> list[tuple[str, str]]:
    """(identity, photo) for two photos of one person and one of another, from the labelled faces."""
    with (FACES / "faces_dev.csv").open() as file:
        rows = list(csv.DictReader(file))
    by_identity: dict[str, list[str]] = {}
    for row in rows:
        by_identity.setdefault(row["identity"], []).append(row["file"])
    first, second = [identity for identity, photos in by_identity.items() if len(photos) >= 2][:2]
    return [(first, by_identity[first][0]), (second, by_identity[second][0]), (first, by_identity[first][1])]


@pytest.fixture
def cli(world, services, monkeypatch, capsys):
    """``flywheel vision`` against this module's app (the CLI talks to a running Flywheel through the SDK)."""
    sdk = Client("http://flywheel.test", world.keys["writer"], http=world.http)
    monkeypatch.setattr(vision_command, "client", lambda ctx: sdk)
    return lambda *args: run_cli(capsys, *args)


@needs_faces
def test_the_vision_cli_reads_image_files(cli, tmp_path):
    photo = FACES / read_pairs()[0][1]
    code, out, err = cli("vision", "labels", str(photo))
    assert code == 0, err
    assert "prediction id pr_" in out
    code, out, err = cli("vision", "faces", str(photo), "--compare", str(FACES / read_pairs()[2][1]))
    assert code == 0 and "the same person" in out, err
    code, out, err = cli("vision", "moderate", str(photo))
    assert code == 0 and "not flagged" in out, err
    code, out, err = cli("vision", "collections", "create", "cli-people")
    assert code == 0, err
    code, out, err = cli("vision", "collections", "index", "cli-people", str(photo), "--external-id", "alice")
    assert code == 0 and "indexed 1 face" in out, err
    code, out, err = cli("vision", "collections", "search", "cli-people", str(FACES / read_pairs()[2][1]))
    assert code == 0 and "alice" in out, err
    code, out, err = cli("vision", "labels", str(tmp_path / "missing.jpg"))
    assert code != 0 and "no image file" in err


def write_clip(path: Path, pictures: list[Image.Image], fps: int = 2) -> None:
    """A real MPEG-4 clip, each picture shown for one second, encoded with PyAV."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        for picture in pictures:
            frame = av.VideoFrame.from_image(ImageOps.pad(picture.convert("RGB"), (640, 480)))
            for _ in range(fps):
                container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


@needs_faces
def test_a_video_becomes_frames_analysed_by_jobs_with_timestamps(world, services, tmp_path):
    face = Image.open(FACES / read_pairs()[0][1])
    clip = tmp_path / "clip.mp4"
    write_clip(clip, [face, Image.new("RGB", (320, 240), "gray"), face])
    files = {"video": ("Clip One.mp4", clip.read_bytes(), "video/mp4")}
    answer = world.call("writer", "POST", "/v1/vision/video", files=files, data={"every_seconds": "1"})
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["dataset"] == "video-clip-one" and body["frames"] == 3
    for job in body["jobs"]:
        execute(world.platform, world.platform.all_jobs().claim("tests:1", job_id=job["job_id"]))
    faces = world.platform.datasets.version("video-clip-one-faces")
    rows = pq.read_table(world.platform.datasets.training_data(faces).path, columns=["seconds", "prediction"])
    found = [len(json.loads(p)["faces"]) for p in rows.column("prediction").to_pylist()]
    assert rows.column("seconds").to_pylist() == [0.0, 1.0, 2.0] and found == [1, 0, 1]

    not_video = world.call("writer", "POST", "/v1/vision/video", files={"video": ("a.mp4", b"nonsense")})
    assert not_video.status_code == 400 and "video:" in not_video.json()["error"]["message"]
    no_file = world.call("writer", "POST", "/v1/vision/video", data={"every_seconds": "1"})
    assert no_file.status_code == 400 and '"video"' in no_file.json()["error"]["message"]
    unknown = world.call("writer", "POST", "/v1/vision/video", files=files, data={"services": "nope"})
    assert unknown.status_code == 404


def test_the_vision_cli_queues_a_video(cli, tmp_path):
    clip = tmp_path / "walk.mp4"
    write_clip(clip, [Image.new("RGB", (640, 480), "white")] * 2)
    code, out, err = cli("vision", "video", str(clip), "--services", "labels", "--every-seconds", "1")
    assert code == 0, err
    assert "2 frames in dataset 'video-walk'" in out and "video-walk-labels" in out
