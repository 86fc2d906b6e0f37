"""Long speech: synthesis and transcription as jobs (submit, poll, fetch the files), and streamed synthesis."""

from __future__ import annotations

import base64
import io
import json

import av
import numpy as np
import pytest

from aiflywheel.kernel.predictions import FeedbackRequest
from aiflywheel.kernel.worker import execute
from aiflywheel.kinds.components.scoring import word_error_rate
from aiflywheel.kinds.speech import audio
from aiflywheel.testing import assert_error

STORY = (
    "The parcel left the warehouse on May 5th. It reached Boston two days later. "
    "The driver rang the bell twice, then left it with a neighbour."
)


def _run(world, job: dict) -> dict:
    """What a worker of `flywheel up` does with the queued job; then poll it like a client."""
    platform = world.platform
    execute(platform, platform.all_jobs().claim("test:1", job_id=job["id"]))
    polled = world.http.get(f"/v1/jobs/{job['id']}", headers=world.headers)
    assert polled.status_code == 200
    return polled.json()


def _heard(world, data: bytes) -> str:
    answer = world.invoke("asr", [{"audio": base64.b64encode(data).decode()}])
    assert answer.status_code == 200, answer.text
    return answer.json()["predictions"][0]["text"]


def _wer(reference: str, hypothesis: str) -> float:
    return word_error_rate([reference], [hypothesis])


def _queued(world) -> int:
    return len(world.platform.jobs.list())


def test_a_synthesis_job_writes_the_audio_file_and_its_speech_marks(speech_world):
    http, headers = speech_world.http, speech_world.headers
    body = {"text": STORY, "voice": "slt", "format": "mp3", "sample_rate": 16000, "speech_marks": True}
    submitted = http.post("/v1/endpoints/tts/synthesis-jobs", json=body, headers=headers)
    assert submitted.status_code == 202, submitted.text
    assert submitted.json()["state"] == "queued" and submitted.json()["type"] == "prediction_job"
    job = _run(speech_world, submitted.json())
    assert job["state"] == "succeeded", job
    result = job["result"]
    assert result["prediction"]["sentences"] == 3 and result["prediction"]["format"] == "mp3"
    assert set(result["files"]) == {"speech.mp3", "speech-marks.jsonl"} and result["prediction_id"]
    fetched = http.get(f"/v1/jobs/{job['id']}/files/speech.mp3", headers=headers)
    assert fetched.status_code == 200 and fetched.headers["content-type"] == "audio/mpeg"
    sound = audio.decode(fetched.content, 16000, 600)
    assert abs(sound.seconds * 1000 - result["prediction"]["duration_ms"]) < 150
    assert _wer(STORY, _heard(speech_world, fetched.content)) < 0.15
    marks = [json.loads(line) for line in http.get(f"/v1/jobs/{job['id']}/files/speech-marks.jsonl",
                                                    headers=headers).text.splitlines()]  # fmt: skip
    sentences = [m for m in marks if m["type"] == "sentence"]
    assert len(sentences) == 3 and sentences[0]["value"].startswith("The parcel left the warehouse on May fifth")
    assert [m["time"] for m in sentences] == sorted(m["time"] for m in sentences)


@pytest.mark.parametrize(
    "body,status,words",
    [
        ({"text": "x " * 50_001}, 400, ["text", "100002 characters", "limit of 100000"]),
        ({"text": ""}, 400, ["text"]),
        ({"text": "   "}, 400, ["text", "blank"]),
        ({"text": "hi", "format": "flac"}, 400, ["format"]),
        ({"text": "hi", "voice": "hal9000"}, 400, ["voice", "hal9000"]),
        ({"text": "<speak><blink>hi</blink></speak>"}, 400, ["<blink>"]),
        ({"words": "hi"}, 400, ["text"]),
    ],
)
def test_a_bad_synthesis_job_is_refused_before_it_is_queued(speech_world, body, status, words):
    before = _queued(speech_world)
    answer = speech_world.http.post("/v1/endpoints/tts/synthesis-jobs", json=body, headers=speech_world.headers)
    assert_error(answer, status, "invalid_input", *words)
    assert _queued(speech_world) == before


def _recording(clips, gap_seconds: float = 1.5) -> tuple[bytes, str]:
    """A few LJ Speech clips with silence between them, as one FLAC file (a short 'long' recording)."""
    rate = 16000
    parts = []
    for clip in clips:
        parts += [audio.decode(clip.path.read_bytes(), rate, 60).samples, np.zeros(int(gap_seconds * rate), np.int16)]
    samples = np.concatenate(parts)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="flac") as out:
        stream = out.add_stream("flac", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in (*stream.encode(frame), *stream.encode(None)):
            out.mux(packet)
    return buffer.getvalue(), " ".join(clip.transcript for clip in clips)


def test_a_transcription_job_gives_timed_segments_and_subtitles(speech_world, lj_clips):
    http, headers = speech_world.http, speech_world.headers
    clips = sorted(lj_clips, key=lambda c: c.seconds)[:3]
    data, reference = _recording(clips)
    submitted = http.post("/v1/endpoints/asr/transcription-jobs", files={"file": ("talk.flac", data)},
                          headers=headers)  # fmt: skip
    assert submitted.status_code == 202, submitted.text
    job = _run(speech_world, submitted.json())
    assert job["state"] == "succeeded", job
    prediction = job["result"]["prediction"]
    assert _wer(reference, prediction["text"]) < 0.12
    segments = prediction["segments"]
    assert len(segments) >= 2 and all(s["start_ms"] < s["end_ms"] for s in segments)
    assert [s["start_ms"] for s in segments] == sorted(s["start_ms"] for s in segments)
    assert segments[-1]["end_ms"] <= prediction["duration_ms"] + 100
    assert abs(prediction["duration_ms"] - (sum(c.seconds for c in clips) + 4.5) * 1000) < 100
    transcript = http.get(f"/v1/jobs/{job['id']}/files/transcript.json", headers=headers).json()
    words = [w for s in transcript["segments"] for w in s["words"]]
    assert len(words) == len(prediction["text"].split()) and all(0 <= w["confidence"] <= 1 for w in words)
    subtitles = http.get(f"/v1/jobs/{job['id']}/files/transcript.vtt", headers=headers)
    assert subtitles.headers["content-type"].startswith("text/vtt")
    assert subtitles.text.startswith("WEBVTT\n\n00:00:0") and "-->" in subtitles.text


def test_a_bad_transcription_job_is_refused_before_it_is_queued(speech_world, lj_clips):
    http, headers = speech_world.http, speech_world.headers
    before = _queued(speech_world)
    url = "/v1/endpoints/asr/transcription-jobs"
    assert_error(http.post(url, files={"file": ("x.wav", b"")}, headers=headers), 400, "invalid_input", "file", "empty")
    not_audio = http.post(url, files={"file": ("x.txt", b"not audio at all" * 100)}, headers=headers)
    assert_error(not_audio, 400, "invalid_input", "file", "not a readable audio file")
    assert_error(http.post(url, headers=headers), 400, "invalid_input", "file")
    speech_world.platform.install("asr", {"max_job_seconds": 3}, model="asr-short-jobs")
    speech_world.platform.endpoints.deploy("asr-short-jobs")
    clip = {"file": ("a.wav", lj_clips[0].path.read_bytes())}
    long = http.post("/v1/endpoints/asr-short-jobs/transcription-jobs", files=clip, headers=headers)
    assert_error(long, 400, "invalid_input", "file", "over the limit of 3 s")
    text_job = http.post("/v1/endpoints/asr/synthesis-jobs", json={"text": "hi"}, headers=headers)
    assert_error(text_job, 400, "invalid_input", "file", "needs the audio file")
    assert _queued(speech_world) == before


def test_job_files_are_found_only_for_succeeded_prediction_jobs(speech_world):
    http, headers = speech_world.http, speech_world.headers
    submitted = http.post("/v1/endpoints/tts/synthesis-jobs", json={"text": "Hi.", "voice": "slt"}, headers=headers)
    job_id = submitted.json()["id"]
    assert_error(http.get(f"/v1/jobs/{job_id}/files/speech.wav", headers=headers), 404, "not_found", "queued")
    _run(speech_world, submitted.json())
    assert http.get(f"/v1/jobs/{job_id}/files/speech.wav", headers=headers).status_code == 200
    assert_error(http.get(f"/v1/jobs/{job_id}/files/secret.txt", headers=headers), 404, "not_found", "speech.wav")


def test_streamed_synthesis_sends_the_audio_sentence_by_sentence(speech_world):
    http, headers = speech_world.http, speech_world.headers
    body = {"text": STORY, "voice": "slt", "format": "mp3"}
    with http.stream("POST", "/v1/endpoints/tts/speech/stream", json=body, headers=headers) as answer:
        assert answer.status_code == 200 and answer.headers["content-type"] == "audio/mpeg"
        assert answer.headers.get("transfer-encoding") == "chunked" or "content-length" not in answer.headers
        pieces = list(answer.iter_raw())
        prediction_id = answer.headers["x-prediction-id"]
    assert len(pieces) >= 3  # at least one piece per sentence, the first before the last sentence was spoken
    data = b"".join(pieces)
    assert _wer(STORY, _heard(speech_world, data)) < 0.15
    speech_world.platform.prediction_log.flush()
    logged = speech_world.platform.feedback.send(
        FeedbackRequest(prediction_id=prediction_id, event_id="stream-1", label={"word": "parcel", "alias": "parsel"})
    )
    assert logged.prediction_id == prediction_id


def test_a_streamed_wav_plays_as_one_file(speech_world):
    answer = speech_world.http.post("/v1/endpoints/tts/speech/stream", json={"text": "One. Two.", "voice": "slt"},
                                    headers=speech_world.headers)  # fmt: skip
    assert answer.status_code == 200 and answer.headers["content-type"] == "audio/wav"
    assert audio.decode(answer.content, 16000, 60).seconds > 0.8


@pytest.mark.parametrize(
    "endpoint,body,words",
    [
        ("tts", {"text": "hi", "voice": "hal9000"}, ["voice", "hal9000"]),
        ("tts", {"text": "<speak><s>unclosed</speak>"}, ["not well-formed"]),
        ("tts", {"text": "x " * 50_001}, ["text", "limit of 100000"]),
        ("asr", {"text": "hi"}, ["asr", "does not stream"]),
    ],
)
def test_a_bad_stream_is_a_400_before_any_audio(speech_world, endpoint, body, words):
    answer = speech_world.http.post(f"/v1/endpoints/{endpoint}/speech/stream", json=body, headers=speech_world.headers)
    assert_error(answer, 400, "invalid_input", *words)
