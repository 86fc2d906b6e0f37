"""The vision services at first start, through the standard invocations path: predictions and 4xx for bad images."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image, ImageDraw

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
