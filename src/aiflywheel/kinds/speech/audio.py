"""Audio in and out through PyAV (FFmpeg's libraries): decode any common file, resample, encode WAV/OGG/MP3.

No codec is written here: FFmpeg decodes WAV, FLAC, MP3, OGG (Vorbis, Opus) and WebM,
at any sample rate and channel count, and encodes PCM WAV, Opus in OGG (libopus) and
MP3 (LAME). What the caller sends is untrusted: anything FFmpeg cannot read, an empty
file, a file with no audio stream or one longer than the limit is an ``InvalidInput``
naming the field.
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

from aiflywheel.errors import InvalidInput

FORMATS = {  # format -> (container, codec, media type, sample rates the codec accepts)
    "wav": ("wav", "pcm_s16le", "audio/wav", (8000, 16000, 22050, 24000)),
    "ogg": ("ogg", "libopus", "audio/ogg", (8000, 16000, 24000)),
    "mp3": ("mp3", "libmp3lame", "audio/mpeg", (8000, 16000, 22050, 24000)),
    "pcm": ("s16le", "pcm_s16le", "audio/L16", (8000, 16000, 22050, 24000)),
}
SAMPLE_RATES = (8000, 16000, 22050, 24000)


@dataclass(frozen=True)
class Audio:
    """Mono 16-bit samples at ``sample_rate``."""

    samples: np.ndarray  # int16
    sample_rate: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate


def from_base64(value: object, field: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{field}: expected the audio file as a non-empty base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(f"{field}: not valid base64 ({exc})") from exc


def decode(data: bytes | Path, sample_rate: int, max_seconds: float, field: str = "audio") -> Audio:
    """Any audio file (its bytes, or its path) → mono int16 at ``sample_rate``; refuses what is not audio, empty or
    too long."""
    if not data or (isinstance(data, Path) and data.stat().st_size == 0):
        raise InvalidInput(f"{field}: the audio is empty")
    chunks: list[np.ndarray] = []
    total = 0
    limit = int(max_seconds * sample_rate)
    try:
        source = str(data) if isinstance(data, Path) else io.BytesIO(data)
        with av.open(source, mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise InvalidInput(f"{field}: the file has no audio stream")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
            for frame in container.decode(stream):
                for converted in resampler.resample(frame):
                    chunk = converted.to_ndarray().reshape(-1)
                    chunks.append(chunk)
                    total += len(chunk)
                if total > limit:
                    raise InvalidInput(f"{field}: the audio is longer than the limit of {max_seconds:g} s")
            for converted in resampler.resample(None):
                chunks.append(converted.to_ndarray().reshape(-1))
    except av.error.FFmpegError as exc:
        raise InvalidInput(f"{field}: not a readable audio file (WAV, FLAC, MP3, OGG or WebM): {exc}") from exc
    samples = np.concatenate(chunks).astype(np.int16) if chunks else np.zeros(0, np.int16)
    if not len(samples):
        raise InvalidInput(f"{field}: the file holds no audio samples")
    if len(samples) > limit:
        raise InvalidInput(f"{field}: the audio is longer than the limit of {max_seconds:g} s")
    return Audio(samples, sample_rate)


def probe(path: Path, max_seconds: float, field: str = "file") -> float | None:
    """Check that ``path`` is a readable audio file no longer than ``max_seconds`` without decoding all of it.

    Returns its duration in seconds when the container states one (a stream may not).
    """
    if path.stat().st_size == 0:
        raise InvalidInput(f"{field}: the audio is empty")
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise InvalidInput(f"{field}: the file has no audio stream")
            stream = container.streams.audio[0]
            seconds = None
            if stream.duration is not None and stream.time_base is not None:
                seconds = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                seconds = container.duration / av.time_base
            if next(container.decode(stream), None) is None:
                raise InvalidInput(f"{field}: the file holds no audio samples")
    except av.error.FFmpegError as exc:
        raise InvalidInput(f"{field}: not a readable audio file (WAV, FLAC, MP3, OGG or WebM): {exc}") from exc
    if seconds is not None and seconds > max_seconds:
        raise InvalidInput(f"{field}: the audio is {seconds:.0f} s long, over the limit of {max_seconds:g} s")
    return seconds


def resample(audio: Audio, sample_rate: int) -> Audio:
    """The same sound at another rate (FFmpeg's resampler)."""
    if audio.sample_rate == sample_rate or not len(audio.samples):
        return Audio(audio.samples, sample_rate) if not len(audio.samples) else audio
    frame = av.AudioFrame.from_ndarray(audio.samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = audio.sample_rate
    resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
    parts = [f.to_ndarray().reshape(-1) for f in (*resampler.resample(frame), *resampler.resample(None))]
    return Audio(np.concatenate(parts).astype(np.int16), sample_rate)


def encode(audio: Audio, audio_format: str) -> bytes:
    """``audio`` as a file of ``audio_format`` (wav, ogg = Opus in OGG, mp3, pcm = raw s16le) at its own rate."""
    buffer = io.BytesIO()  # seekable: the WAV header gets its real sizes
    encoder = Encoder(audio_format, audio.sample_rate, buffer)
    encoder.add(audio.samples)
    encoder.finish()
    return buffer.getvalue()


class _Drain(io.RawIOBase):
    """A write-only, non-seekable file whose bytes are taken out as they are written (what streaming sends)."""

    def __init__(self) -> None:
        self.written: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.written.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self.written)
        self.written.clear()
        return data


class Encoder:
    """Encodes audio piece by piece into one file of ``audio_format``, written to ``target``.

    Without a ``target`` the file is streamed: ``add`` and ``finish`` return the bytes ready so
    far (a WAV streamed this way carries FFmpeg's "length unknown" header, which players accept).
    """

    def __init__(self, audio_format: str, sample_rate: int, target: BinaryIO | None = None):
        container_format, codec, _, rates = FORMATS[audio_format]
        if sample_rate not in rates:
            raise InvalidInput(
                f"sample_rate: {audio_format} supports {', '.join(map(str, rates))} Hz, not {sample_rate}"
            )
        self.sample_rate = sample_rate
        self.samples_written = 0
        self._drain = _Drain() if target is None else None
        self._target = target if target is not None else self._drain
        self._container = None
        if audio_format != "pcm":
            self._container = av.open(self._target, mode="w", format=container_format)
            self._stream = self._container.add_stream(codec, rate=sample_rate, layout="mono")
            if audio_format in ("mp3", "ogg"):  # speech needs less than the encoders' music defaults
                self._stream.bit_rate = 48_000 if sample_rate >= 22050 else 32_000

    def add(self, samples: np.ndarray) -> bytes:
        """Encode mono int16 ``samples`` at the encoder's rate; the bytes ready to send (streaming) or b""."""
        self.samples_written += len(samples)
        if self._container is None:
            self._target.write(samples.astype("<i2").tobytes())
            return self._taken()
        step = self.sample_rate  # one second a frame: the encoder re-frames as its codec needs
        for start in range(0, len(samples), step):
            frame = av.AudioFrame.from_ndarray(
                samples[start : start + step].reshape(1, -1), format="s16", layout="mono"
            )
            frame.sample_rate = self.sample_rate
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        return self._taken()

    def finish(self) -> bytes:
        """Flush the codec and close the container; the last bytes (streaming) or b""."""
        if self._container is not None:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
            self._container.close()
        return self._taken()

    @property
    def seconds(self) -> float:
        return self.samples_written / self.sample_rate

    def _taken(self) -> bytes:
        return self._drain.take() if self._drain is not None else b""


def media_type(audio_format: str) -> str:
    return FORMATS[audio_format][2]


def louder(samples: np.ndarray, gain_db: float) -> np.ndarray:
    """Samples scaled by ``gain_db`` decibels, clipped to the 16-bit range."""
    if gain_db == 0:
        return samples
    scaled = samples.astype(np.float32) * (10 ** (gain_db / 20))
    return np.clip(scaled, -32768, 32767).astype(np.int16)


def silence(milliseconds: int, sample_rate: int) -> np.ndarray:
    return np.zeros(int(sample_rate * milliseconds / 1000), np.int16)
