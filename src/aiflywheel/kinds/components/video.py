"""Frames sampled from a video file, decoded by PyAV (FFmpeg's libraries, bundled in its wheel).

Used by the video job: one frame every ``every_seconds`` of presentation time (the first
frame at or after each mark), with its timestamp, scaled down to ``max_side`` pixels so
frames cost what a photo costs. A file FFmpeg cannot read is an ``InvalidInput`` naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from aiflywheel.errors import InvalidInput


@dataclass(frozen=True)
class Frame:
    seconds: float
    image: Image.Image


def sample_frames(path: Path, every_seconds: float = 1.0, max_frames: int = 600, max_side: int = 1280) -> list[Frame]:
    """Frames every ``every_seconds`` (at most ``max_frames``), RGB, at most ``max_side`` pixels on the long side."""
    import av

    if every_seconds <= 0:
        raise InvalidInput("every_seconds must be greater than 0")
    frames: list[Frame] = []
    next_mark = 0.0
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InvalidInput("video: the file has no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                if frame.pts is None or frame.time_base is None:
                    continue
                seconds = float(frame.pts * frame.time_base)
                if seconds + 1e-6 < next_mark:
                    continue
                image = frame.to_image()
                image.thumbnail((max_side, max_side))
                frames.append(Frame(round(seconds, 3), image))
                next_mark = seconds + every_seconds
                if len(frames) >= max_frames:
                    break
    except av.error.FFmpegError as exc:
        raise InvalidInput(f"video: not a readable video file ({exc})") from exc
    if not frames:
        raise InvalidInput("video: no frame could be decoded")
    return frames
