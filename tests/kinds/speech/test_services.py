"""tts and asr as built-in services, through the standard invocation path and the speech conveniences."""

from __future__ import annotations

import base64
import io

import av
import jiwer
import numpy as np
import pytest

from aiflywheel.kinds.components.scoring import words_for_scoring
from aiflywheel.kinds.speech import audio
from aiflywheel.testing import assert_error


def _decoded(answer: dict, rate: int | None = None) -> audio.Audio:
    return audio.decode(base64.b64decode(answer["audio"]), rate or answer["sample_rate"], 600)


def _container(answer_bytes: bytes) -> tuple[str, str, int]:
    with av.open(io.BytesIO(answer_bytes)) as container:
        stream = container.streams.audio[0]
        return container.format.name, stream.codec_context.name, stream.codec_context.sample_rate


def test_first_start_serves_tts_and_asr(speech_world):
    assert {e.name for e in speech_world.platform.endpoints.list()} >= {"tts", "asr"}
    assert speech_world.platform.models.get("asr").params["model"] == "base"


def test_asr_transcribes_lj_speech_clips_with_word_timings(speech_world, lj_clips):
    clips = lj_clips[:6]
    response = speech_world.invoke("asr", [{"audio": clip.base64()} for clip in clips])
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    references = [" ".join(words_for_scoring(c.transcript)) for c in clips]
    heard = [" ".join(words_for_scoring(p["text"])) for p in predictions]
    assert jiwer.wer(references, heard) < 0.10
    first = predictions[0]
    assert first["language"] == "en" and abs(first["duration_ms"] - clips[0].seconds * 1000) < 50
    words = first["words"]
    assert len(words) >= 5 and all(0 <= w["confidence"] <= 1 for w in words)
    assert all(w["start_ms"] <= w["end_ms"] for w in words)
    assert [w["start_ms"] for w in words] == sorted(w["start_ms"] for w in words)
    assert words[-1]["end_ms"] <= first["duration_ms"] + 100


@pytest.mark.parametrize("container,codec,rate,layout", [("flac", "flac", 44100, "stereo"),
                                                         ("mp3", "libmp3lame", 16000, "mono"),
                                                         ("webm", "libopus", 48000, "stereo")])  # fmt: skip
def test_asr_reads_other_formats_rates_and_stereo(speech_world, lj_clips, container, codec, rate, layout):
    clip = min(lj_clips, key=lambda c: c.seconds)
    source = audio.decode(clip.path.read_bytes(), rate, 60)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        channels = 2 if layout == "stereo" else 1
        frame = av.AudioFrame.from_ndarray(source.samples.repeat(channels).reshape(1, -1), format="s16", layout=layout)
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    response = speech_world.invoke("asr", [{"audio": base64.b64encode(buffer.getvalue()).decode()}])
    assert response.status_code == 200, response.text
    heard = words_for_scoring(response.json()["predictions"][0]["text"])
    assert jiwer.wer(" ".join(words_for_scoring(clip.transcript)), " ".join(heard)) <= 0.2


def test_tts_round_trips_through_asr_with_numbers_and_abbreviations(speech_world):
    text = "Dr. Smith paid $3.50 for 2 tickets on May 5th."
    spoken = speech_world.invoke("tts", [{"text": text}])
    assert spoken.status_code == 200, spoken.text
    answer = spoken.json()["predictions"][0]
    assert (answer["format"], answer["voice"], answer["engine"]) == ("wav", "joe", "piper")
    wav = base64.b64decode(answer["audio"])
    assert _container(wav) == ("wav", "pcm_s16le", 22050)
    heard = speech_world.invoke("asr", [{"audio": answer["audio"]}]).json()["predictions"][0]["text"]
    assert jiwer.wer(" ".join(words_for_scoring(text)), " ".join(words_for_scoring(heard))) <= 0.1, heard


@pytest.mark.parametrize("audio_format,rate,expected", [("ogg", None, ("ogg", "opus", 16000)),
                                                        ("ogg", 16000, ("ogg", "opus", 16000)),
                                                        ("mp3", 22050, ("mp3", "mp3float", 22050)),
                                                        ("wav", 8000, ("wav", "pcm_s16le", 8000))])  # fmt: skip
def test_tts_formats_and_sample_rates(speech_world, audio_format, rate, expected):
    instance = {"text": "Formats and rates.", "voice": "slt", "format": audio_format, "sample_rate": rate}
    answer = speech_world.invoke("tts", [{k: v for k, v in instance.items() if v is not None}]).json()["predictions"][0]
    container, codec, rate = _container(base64.b64decode(answer["audio"]))
    assert (container, codec) == expected[:2]
    assert rate == (48000 if codec == "opus" else expected[2])  # Opus always decodes at 48 kHz
    assert answer["sample_rate"] == expected[2] and 500 < answer["duration_ms"] < 4000


def test_tts_ssml_breaks_prosody_and_speech_marks(speech_world):
    plain = "<speak><s>Wait for it.</s><s>Now.</s></speak>"
    paused = '<speak><s>Wait for it.</s><break time="1500ms"/><s><prosody rate="slow">Now.</prosody></s></speak>'
    short, long = (
        speech_world.invoke("tts", [{"text": t, "voice": "slt", "speech_marks": True}]).json()["predictions"][0]
        for t in (plain, paused)
    )
    assert long["duration_ms"] - short["duration_ms"] > 1400
    marks = long["speech_marks"]
    assert [m["value"] for m in marks if m["type"] == "sentence"] == ["Wait for it.", "Now."]
    assert [m["value"] for m in marks if m["type"] == "word"] == ["Wait", "for", "it", "Now"]
    times = [m["time"] for m in marks if m["type"] == "sentence"]
    assert times[1] - times[0] > 1500 and all(m["end"] <= long["duration_ms"] for m in marks)


def test_a_lexicon_is_a_new_model_version(speech_world):
    platform = speech_world.platform
    platform.install("tts", {"voice": "slt", "lexicon": {"Flywheel": "fly wheel"}}, model="tts-lexicon")
    platform.endpoints.deploy("tts-lexicon")
    answer = speech_world.invoke("tts-lexicon", [{"text": "Flywheel", "speech_marks": True}]).json()["predictions"][0]
    assert [m["value"] for m in answer["speech_marks"] if m["type"] == "word"] == ["fly", "wheel"]


def test_voices_are_listed(speech_world):
    voices = {v["id"]: v for v in speech_world.http.get("/v1/voices", headers=speech_world.headers).json()}
    assert voices["joe"]["engine"] == "piper" and voices["slt"]["gender"] == "female"
    assert all(v["installed"] for v in voices.values())


def test_raw_audio_out_and_multipart_audio_in(speech_world):
    http, headers = speech_world.http, speech_world.headers
    spoken = http.post("/v1/endpoints/tts/speech", json={"text": "Hello there.", "format": "mp3"}, headers=headers)
    assert spoken.status_code == 200 and spoken.headers["content-type"] == "audio/mpeg"
    assert spoken.headers["x-prediction-id"]
    heard = http.post("/v1/endpoints/asr/transcriptions", files={"file": ("hello.mp3", spoken.content)},
                      headers=headers)  # fmt: skip
    assert heard.status_code == 200, heard.text
    assert "hello" in heard.json()["text"].lower() and heard.json()["prediction_id"]


@pytest.mark.parametrize(
    "instance,words",
    [
        ({"audio": base64.b64encode(b"definitely not audio" * 20).decode()}, ["instances[0].audio", "readable"]),
        ({"audio": ""}, ["instances[0].audio", "base64"]),
        ({"audio": "@@not base64@@"}, ["instances[0].audio", "base64"]),
        ({"sound": "x"}, ["instances[0]", "audio"]),
        ({"audio": "UklGRg==", "speed": 2}, ["speed"]),
    ],
)
def test_asr_bad_input_is_a_400_naming_the_field(speech_world, instance, words):
    assert_error(speech_world.invoke("asr", [instance]), 400, "invalid_input", *words)


def test_asr_refuses_audio_over_the_limit_and_empty_uploads(speech_world, lj_clips):
    platform = speech_world.platform
    platform.install("asr", {"max_seconds": 2}, model="asr-short")
    platform.endpoints.deploy("asr-short")
    assert_error(speech_world.invoke("asr-short", [{"audio": lj_clips[0].base64()}]), 400, "invalid_input",
                 "longer than the limit of 2 s")  # fmt: skip
    empty = speech_world.http.post("/v1/endpoints/asr/transcriptions", files={"file": ("x.wav", b"")},
                                   headers=speech_world.headers)  # fmt: skip
    assert_error(empty, 400, "invalid_input", "empty")


@pytest.mark.parametrize(
    "instance,words",
    [
        ({"text": "<speak><blink>hi</blink></speak>"}, ["<blink>", "not supported"]),
        ({"text": "<speak><s>unclosed</speak>"}, ["not well-formed"]),
        ({"text": '<speak><break time="forever"/></speak>'}, ["<break", "forever"]),
        ({"text": '<speak><prosody rate="ludicrous">x</prosody></speak>'}, ["rate", "ludicrous"]),
        ({"text": "hi", "voice": "hal9000"}, ["voice", "hal9000"]),
        ({"text": "hi", "format": "flac"}, ["instances[0].format"]),
        ({"text": "hi", "sample_rate": 44100}, ["instances[0].sample_rate"]),
        ({"text": "   "}, ["instances[0].text", "blank"]),
        ({"text": "<speak> ... </speak>"}, ["instances[0].text", "nothing to say"]),
        ({"text": "x" * 5001}, ["instances[0].text", "limit of 5000"]),
        ("just a string", ["instances[0]"]),
    ],
)
def test_tts_bad_input_is_a_400_naming_the_element_or_field(speech_world, instance, words):
    assert_error(speech_world.invoke("tts", [instance]), 400, "invalid_input", *words)


def test_bad_lexicon_params_are_refused_at_install(speech_world):
    from aiflywheel.errors import InvalidInput

    with pytest.raises(InvalidInput, match="lexicon"):
        speech_world.platform.install("tts", {"lexicon": {"word": ""}}, model="tts-bad")
    with pytest.raises(InvalidInput, match="sample_rate"):
        speech_world.platform.install("tts", {"sample_rate": 11025}, model="tts-bad")


def test_live_transcription_over_a_websocket(speech_world, lj_clips):
    clip = min(lj_clips, key=lambda c: c.seconds)
    pcm = audio.decode(clip.path.read_bytes(), 16000, 60).samples.astype("<i2").tobytes()
    key = speech_world.headers["Authorization"].removeprefix("Bearer ")
    with speech_world.http.websocket_connect("/v1/endpoints/asr/live") as socket:
        socket.send_json({"sample_rate": 16000, "api_key": key})  # as a browser would: no headers
        second = 16000 * 2
        for start in range(0, len(pcm), second // 2):
            socket.send_bytes(pcm[start : start + second // 2])
        socket.send_json({"type": "end"})
        messages = []
        while not messages or messages[-1]["type"] != "final":
            messages.append(socket.receive_json())
    assert {m["type"] for m in messages[:-1]} <= {"partial"} and len(messages) >= 2
    final = messages[-1]
    assert "opaque" in final["text"].lower() and final["prediction_id"] and final["words"]


@pytest.mark.parametrize(
    "first,words",
    [({"sample_rate": 16000, "api_key": "fw_nope_nope"}, "unauthorized"), ({"sample_rate": 12}, "sample_rate")],
)
def test_live_transcription_refuses_bad_starts(speech_world, first, words):
    with speech_world.http.websocket_connect("/v1/endpoints/asr/live") as socket:
        socket.send_json(first)
        answer = socket.receive_json()
    assert answer["type"] == "error" and words in (answer["code"] + answer["message"])


def test_the_neural_voices_noise_settings_reach_its_worker():
    from aiflywheel.kinds.speech.ssml import Prosody
    from aiflywheel.kinds.speech.voices import VOICES, PiperEngine

    text = "The package weighs three kilograms."
    steady, sampled = PiperEngine(VOICES["joe"], noise_scale=0.0, noise_w=0.0), PiperEngine(VOICES["joe"], None, None)
    try:
        first, second = (steady.speak(text, Prosody()) for _ in range(2))
        assert len(first) > 10_000 and np.array_equal(first, second)  # without noise, the same sound every time
        assert not np.array_equal(*(sampled.speak(text, Prosody()) for _ in range(2)))  # the voice's own noise
    finally:
        steady.close()
        sampled.close()
