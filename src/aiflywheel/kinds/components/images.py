"""Images from callers: decode, check and orient them once, for every vision kind.

An image arrives as base64 text (optionally a ``data:image/...;base64,`` URL) or as raw
bytes from an upload. It must be JPEG, PNG, WebP, BMP or GIF (the first frame of an
animation is used), within ``ImageLimits``; anything else is an ``InvalidInput`` (a
``PayloadTooLarge`` when over a limit) that names the field and the problem, so the REST
layer answers 400/413 instead of a stack trace. EXIF orientation is applied, so a photo
taken sideways is analysed and boxed the way a viewer shows it.

Examples
--------
>>> import base64, io
>>> from PIL import Image
>>> buffer = io.BytesIO(); Image.new("RGB", (4, 3), "red").save(buffer, "PNG")
>>> decode_image(base64.b64encode(buffer.getvalue()).decode()).size
(4, 3)
>>> decode_image("aGVsbG8=")
Traceback (most recent call last):
...
aiflywheel.errors.InvalidInput: image: not an image (JPEG, PNG, WebP, BMP or GIF expected)
"""

from __future__ import annotations

import base64
import binascii
import io
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from aiflywheel.errors import InvalidInput, PayloadTooLarge

FORMATS = {"JPEG", "PNG", "WEBP", "BMP", "GIF", "MPO", "TIFF"}  # MPO: phone cameras' JPEG; TIFF: scans
FORMAT_NAMES = "JPEG, PNG, WebP, BMP or GIF"


@dataclass(frozen=True)
class ImageLimits:
    """The largest image accepted: encoded bytes and decoded pixels (width x height)."""

    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000


DEFAULT_LIMITS = ImageLimits()


def image_bytes(value: Any, field: str = "image", limits: ImageLimits = DEFAULT_LIMITS) -> bytes:
    """The encoded bytes of ``value`` (base64 text, a data URL, or bytes), size-checked."""
    if isinstance(value, bytes | bytearray):
        data = bytes(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.startswith("data:"):
            header, _, text = text.partition(",")
            if ";base64" not in header:
                raise InvalidInput(f"{field}: a data URL must be base64 encoded (data:image/...;base64,...)")
        if not text:
            raise InvalidInput(f"{field}: is empty; send the image's bytes as base64")
        if len(text) * 3 // 4 > limits.max_bytes:
            raise PayloadTooLarge(f"{field}: larger than the limit of {limits.max_bytes} bytes")
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput(f"{field}: is not valid base64 ({exc})") from exc
    elif value is None:
        raise InvalidInput(f"{field}: is missing; send the image's bytes as base64")
    else:
        raise InvalidInput(f"{field}: must be a base64 string, got {type(value).__name__}")
    if not data:
        raise InvalidInput(f"{field}: is empty")
    if len(data) > limits.max_bytes:
        raise PayloadTooLarge(f"{field}: {len(data)} bytes is larger than the limit of {limits.max_bytes} bytes")
    return data


def decode_image(value: Any, field: str = "image", limits: ImageLimits = DEFAULT_LIMITS) -> Image.Image:
    """An RGB Pillow image, EXIF orientation applied; ``InvalidInput`` naming ``field`` when unusable."""
    data = image_bytes(value, field, limits)
    try:
        with warnings.catch_warnings():
            # Pillow warns on large images; our own pixel limit, checked next, is the one that applies.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        raise InvalidInput(f"{field}: not an image ({FORMAT_NAMES} expected)") from exc
    except Image.DecompressionBombError as exc:
        raise PayloadTooLarge(f"{field}: too many pixels (limit {limits.max_pixels})") from exc
    except OSError as exc:
        raise InvalidInput(f"{field}: cannot be read as an image ({exc})") from exc
    if image.format not in FORMATS:
        raise InvalidInput(f"{field}: {image.format} images are not accepted ({FORMAT_NAMES} expected)")
    width, height = image.size
    if width * height > limits.max_pixels:
        raise PayloadTooLarge(
            f"{field}: {width}x{height} is {width * height} pixels, over the limit of {limits.max_pixels}"
        )
    if width < 1 or height < 1:
        raise InvalidInput(f"{field}: has no pixels")
    try:
        image.load()
        oriented = ImageOps.exif_transpose(image)
        return oriented.convert("RGB")
    except (OSError, SyntaxError, ValueError) as exc:
        # A truncated file decodes its header but fails here: "image file is truncated".
        raise InvalidInput(f"{field}: is damaged or truncated ({exc})") from exc


def rgb_array(image: Image.Image) -> np.ndarray:
    """The image as a contiguous uint8 height x width x 3 array."""
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))


def instance_image(instance: Any, field: str = "image", limits: ImageLimits = DEFAULT_LIMITS) -> Image.Image:
    """The image in one prediction instance ``{"image": ...}``; the message names what is missing."""
    if not isinstance(instance, dict):
        raise InvalidInput(f'each instance must be an object like {{"{field}": "<base64>"}}')
    if field not in instance:
        raise InvalidInput(f'instance has no "{field}" field; send {{"{field}": "<base64 of the image>"}}')
    return decode_image(instance[field], field, limits)
