"""The speech flywheel: corrected transcripts teach asr vocabulary; pronunciation fixes teach tts a lexicon."""

from __future__ import annotations

import jiwer
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.ingest import ingest
from aiflywheel.kernel.kinds import FeedbackRecord, TrainingData
from aiflywheel.kinds.components.scoring import words_for_scoring
from aiflywheel.kinds.speech import AsrKind, TtsKind
from aiflywheel.kinds.speech.asr import AsrParams
from aiflywheel.kinds.speech.audio import Audio, decode


class Progress:
    def __call__(self, fraction: float, message: str = "") -> None:
        assert 0 <= fraction <= 1

    def log(self, message: str) -> None:
        pass


def dataset(tmp_path, table: pa.Table) -> TrainingData:
    pq.write_table(table, tmp_path / "rows.parquet")
    (tmp_path / "ingested").mkdir()
    ingested = ingest(tmp_path / "rows.parquet", tmp_path / "ingested")
    return TrainingData(ingested.path, ingested.columns)


def test_corrected_transcripts_become_rows_and_vocabulary(tmp_path, lj_clips):
    kind = AsrKind()
    # LJ001-0047 and LJ001-0052 say "Jenson", which Whisper tiny.en writes "Jensen".
    clips = [c for c in lj_clips if "Jenson" in c.transcript][:2]
    assert len(clips) == 2
    records = [
        FeedbackRecord(input={"audio": c.base64()}, output={"text": "…"}, feedback={"label": c.transcript})
        for c in clips
    ]
    params = kind.Params(model="tiny.en")  # the fast model: this is about learning vocabulary, not about accuracy
    rows = kind.feedback_rows(params, records)
    assert [r["text"] for r in rows] == [c.transcript for c in clips]
    workdir = tmp_path / "model"
    workdir.mkdir()
    result = kind.train(dataset(tmp_path, pa.Table.from_pylist(rows)), params, Progress(), workdir)
    assert result.metrics["wer"] <= result.metrics["baseline_wer"]
    if result.metrics["wer"] < result.metrics["baseline_wer"]:
        assert "Jenson" in result.summary["learned_hotwords"]
        assert "Jenson" in kind.load(workdir).params.hotwords


def test_asr_training_needs_audio_and_text(tmp_path):
    with pytest.raises(InvalidInput, match="column"):
        AsrKind().validate(AsrKind.Params(), dataset(tmp_path, pa.table({"text": ["a"]})).columns)


def test_pronunciation_fixes_become_lexicon_entries(tmp_path):
    kind = TtsKind()
    records = [FeedbackRecord({"text": "GIF"}, {}, {"label": {"word": "GIF", "alias": "jif"}}),
               FeedbackRecord({"text": "x"}, {}, {"label": "not a fix"})]  # fmt: skip
    rows = kind.feedback_rows(kind.Params(), records)
    assert rows == [{"word": "GIF", "alias": "jif"}]
    workdir = tmp_path / "model"
    workdir.mkdir()
    params = kind.Params(voice="slt", lexicon={"SQL": "sequel"})
    result = kind.train(dataset(tmp_path, pa.Table.from_pylist(rows)), params, Progress(), workdir)
    assert kind.load(workdir).params.lexicon == {"SQL": "sequel", "GIF": "jif"}
    assert result.metrics["lexicon_entries"] == 2 and result.metrics["real_time_factor"] > 0


def test_tiny_en_refuses_another_language():
    with pytest.raises(ValueError, match="needs model 'base'"):
        AsrParams(model="tiny.en", language="de")


@pytest.fixture
def encoder_widths(monkeypatch) -> list[int]:
    """The width in frames of every window Whisper's encoder is given, in order."""
    from faster_whisper import WhisperModel

    widths, encode = [], WhisperModel.encode
    monkeypatch.setattr(
        WhisperModel, "encode", lambda model, features: widths.append(features.shape[-1]) or encode(model, features)
    )
    return widths


def test_whisper_base_identifies_the_language_on_the_one_encoder_pass_it_decodes(
    whisper_base, lj_clips, monkeypatch, encoder_widths
):
    from faster_whisper.feature_extractor import FeatureExtractor

    mel_passes, blas_threads = [], []
    extract = FeatureExtractor.__call__

    def counted_extract(extractor, *args, **kwargs):
        from threadpoolctl import threadpool_info

        mel_passes.append(1)
        numpy_blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas" and "numpy" in pool["filepath"]]
        blas_threads.extend(pool["num_threads"] for pool in numpy_blas)  # the BLAS the mel product runs on
        return extract(extractor, *args, **kwargs)

    monkeypatch.setattr(FeatureExtractor, "__call__", counted_extract)
    predictor = whisper_base
    clip = min(lj_clips, key=lambda c: c.seconds)
    sound = decode(clip.path.read_bytes(), 16000, 60)
    for word_timestamps in (False, True):
        encoder_widths.clear()
        mel_passes.clear()
        answer = predictor.transcribe(sound, word_timestamps=word_timestamps)
        assert answer["language"] == "en" and answer["language_probability"] > 0.5
        assert "opaque" in answer["text"].lower()
        assert len(encoder_widths) == 1  # faster-whisper alone encodes a short clip twice: to identify, then to decode
        assert len(mel_passes) == 1  # and computes its log-mel features twice
        assert encoder_widths == [len(sound.samples) // 160 + 2000]  # the clip and 20 s of silence, not 30 s
    assert set(blas_threads) == {1}  # numpy's second BLAS thread would busy-wait beside the encoder
    assert predictor._model.feature_extractor._last is None  # nothing of the clip is kept after it
    assert predictor._model.frames_to_encode is None


def test_word_timings_leave_a_short_clips_transcript_as_text_only_decoding_gives_it(whisper_base, lj_clips):
    # LJ002-0100 ("...the tap kept by the jailer..."): decoded with Whisper's timestamp tokens, base wrote "jaler".
    clip = next(c for c in lj_clips if c.path.name == "LJ002-0100.wav")
    sound = decode(clip.path.read_bytes(), 16000, 60)
    timed, text_only = whisper_base.transcribe(sound), whisper_base.transcribe(sound, word_timestamps=False)
    assert timed["text"] == text_only["text"] and "jailer" in timed["text"]
    words = timed["words"]
    assert " ".join(w["word"] for w in words) == timed["text"]
    assert all(w["start_ms"] <= w["end_ms"] for w in words) and all(0 <= w["confidence"] <= 1 for w in words)
    assert [w["start_ms"] for w in words] == sorted(w["start_ms"] for w in words)
    assert 0 < words[-1]["end_ms"] <= timed["duration_ms"]


def test_audio_longer_than_one_window_is_timed_across_windows(whisper_base, lj_clips, encoder_widths):
    clips = sorted(lj_clips, key=lambda c: c.seconds)[:9]  # 34 s with the pauses: two 30-s windows
    pause = np.zeros(8000, dtype=np.int16)
    samples = np.concatenate([part for c in clips for part in (decode(c.path.read_bytes(), 16000, 60).samples, pause)])
    whisper_base.transcribe(decode(clips[0].path.read_bytes(), 16000, 60))  # a short clip before leaves no trace
    encoder_widths.clear()
    answer = whisper_base.transcribe(Audio(samples, 16000))
    assert answer["duration_ms"] > 30_000
    assert set(encoder_widths) == {3000}  # every window of longer audio is Whisper's full 30 s
    reference = " ".join(words_for_scoring(" ".join(c.transcript for c in clips)))
    assert jiwer.wer(reference, " ".join(words_for_scoring(answer["text"]))) < 0.15
    words = answer["words"]
    assert [w["start_ms"] for w in words] == sorted(w["start_ms"] for w in words)
    assert words[-1]["end_ms"] > 30_000 and words[-1]["end_ms"] <= answer["duration_ms"] + 100
