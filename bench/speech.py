"""Benchmark speech: ASR word error rate and speed against PocketSphinx, TTS speed and intelligibility per voice.

Run: ``.venv/bin/python bench/speech.py`` (needs ``pip install -e '.[test,bench-speech]'`` and flite;
``--quick`` uses 10 clips and 10 sentences).

- **ASR** on the 40 LJ Speech clips of ``../shared/data/speech`` (202 s of read English):
  Flywheel's ``asr`` predictor — Whisper base (the default) and tiny.en, greedy, each with
  word timings (what an instance gets by default) and text only (``word_timestamps: false``,
  decoded without timestamp tokens), and base with ``beam_size: 5`` — and PocketSphinx 5 (its
  bundled en-us model), the peer, in the same run. WER is ``scoring.word_error_rate``: both
  sides normalised (numbers as words, no punctuation or apostrophes, American spellings,
  compounds joined where the other side joins them), so "1802" and "eighteen oh two" agree.
  Real-time factor = decode seconds / audio seconds, per clip; the table gives the median and
  the total, on ``threads`` = 2 cores, and the CPU seconds per audio second (all threads),
  which a busy machine inflates least.
- **TTS** per voice on held-out text: the 40 LJ transcripts as written (with "5, an 8",
  "11 pounds, 15 shillings") and 24 sentences written for this benchmark before it was
  first run (money, times, dates, abbreviations, symbols). Real-time factor = synthesis
  seconds / seconds of speech; intelligibility = WER of our ``asr`` on the voice's audio
  against the text, with text normalisation on, and off (the engine gets the raw text). The
  neural voice samples noise, so each rendition of a text is said, and misheard, differently:
  its round trip is scored over ``SPEECH_BENCH_RENDITIONS`` (3) renditions of every text.
- **Stages** (``--part asr-stages``): the default asr's CPU seconds per audio second in each
  CTranslate2 call (encoder, language identification, decoding, word alignment) and in the mel
  features, on the 40 clips: where the time goes, measured the way a busy machine distorts least.
- **Memory**: resident memory added by loading ``tts`` (neural voice, its worker process
  included) and ``asr`` together and using each once.
"""

from __future__ import annotations

import argparse
import base64
import csv
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from aiflywheel.kinds.components.scoring import word_error_rate, words_for_scoring
from aiflywheel.kinds.speech import audio
from aiflywheel.kinds.speech.asr import AsrParams, AsrPredictor
from aiflywheel.kinds.speech.tts import TtsParams, TtsPredictor

CACHE = Path(tempfile.gettempdir()) / "flywheel-bench-speech"  # where Whisper base's two parts are joined once
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "speech"
SENTENCES = [
    "Your order number 4572 ships on Tuesday, June 3rd.",
    "The total comes to $48.99, including tax.",
    "Dr. Patel will see you at 10:15 a.m. on Friday.",
    "Please call us back at 555-0199 before 6 pm.",
    "Mr. and Mrs. Lee moved to St. Paul in 2019.",
    "The temperature dropped 12° overnight.",
    "About 35% of customers chose the premium plan.",
    "Flight 227 to Boston departs from gate 14.",
    "Our office is open Monday to Friday, 9:00 to 5:30.",
    "The package weighs 3.5 kg and measures 40 cm.",
    "Q&A sessions start on March 21st at noon.",
    "Prices rose from $1,200 to $1,450 in the 1990s.",
    "The meeting was moved to July 4, 2025.",
    "Press 1 for sales, 2 for support, or 0 for an operator.",
    "Your balance is $0.75 after the last payment.",
    "Route 66 runs about 2,448 miles across 8 states.",
    "Gen. Grant and Capt. Smith met at Ft. Donelson.",
    "The 3rd quarter results beat forecasts by 7.2%.",
    "Send the forms to the HR dept. by Aug. 30.",
    "The recipe needs 2 cups of flour and 3 eggs.",
    "Version 2.5 fixed 18 bugs reported since May.",
    "The store at 221 Baker St. closes at 8 pm.",
    "It rained 4 days out of 7 last week.",
    "Tickets cost €25 for adults and €10 for children.",
]
VOICES = tuple(os.environ.get("SPEECH_BENCH_VOICES", "joe,slt,rms").split(","))
RENDITIONS = int(os.environ.get("SPEECH_BENCH_RENDITIONS", "3"))


def lj_rows(limit: int | None) -> list[dict]:
    with open(DATA / "transcripts.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return rows[:limit] if limit else rows


def score(references: list[str], hypotheses: list[str]) -> float:
    return word_error_rate(references, hypotheses)


def run_asr(name: str, transcribe, clips: list[tuple[audio.Audio, str]]) -> dict:
    hypotheses, factors, decode_seconds = [], [], 0.0
    cpu_began = time.process_time()
    for sound, _ in clips:
        began = time.perf_counter()
        hypotheses.append(transcribe(sound))
        spent = time.perf_counter() - began
        decode_seconds += spent
        factors.append(spent / sound.seconds)
    total_audio = sum(sound.seconds for sound, _ in clips)
    return {
        "system": name,
        "wer": score([text for _, text in clips], hypotheses),
        "rtf_median": statistics.median(factors),
        "rtf_total": decode_seconds / total_audio,
        # CPU seconds of all this process's threads per audio second: what a busy machine inflates least.
        # On an idle 2-core machine the wall-clock RTF of a 2-thread decoder is at least half of it.
        "cpu_per_audio_second": (time.process_time() - cpu_began) / total_audio,
    }


def pocketsphinx_transcriber():
    from pocketsphinx import Decoder

    decoder = Decoder(samprate=16000)

    def transcribe(sound: audio.Audio) -> str:
        decoder.start_utt()
        decoder.process_raw(sound.samples.astype("<i2").tobytes(), full_utt=True)
        decoder.end_utt()
        hypothesis = decoder.hyp()
        return hypothesis.hypstr if hypothesis else ""

    return transcribe


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def bench_asr(limit: int | None) -> list[dict]:
    clips = [(audio.decode((DATA / r["file"]).read_bytes(), 16000, 60), r["transcript"]) for r in lj_rows(limit)]
    results = []
    runs = (("base", 1, True), ("base", 1, False), ("base", 5, True), ("tiny.en", 1, True), ("tiny.en", 1, False))
    for model, beam, words in runs:
        predictor = AsrPredictor(AsrParams(model=model, beam_size=beam), CACHE)
        decoding = "beam 5" if beam == 5 else "greedy"
        label = f"Flywheel asr: Whisper {model} int8, {decoding}, " + ("with word timings" if words else "text only")
        results.append(run_asr(label, lambda s, p=predictor, w=words: p.transcribe(s, w)["text"], clips))
    results.append(run_asr("PocketSphinx 5.1.1 en-us (peer)", pocketsphinx_transcriber(), clips))
    return results


def bench_tts(limit: int | None, asr: AsrPredictor) -> list[dict]:
    lj_texts = [r["transcript"] for r in lj_rows(limit)]
    texts = lj_texts + SENTENCES[:limit]
    results = []
    for voice in VOICES:
        # The neural voice samples noise, so each rendition of a text differs (and is misheard differently):
        # its round trip is scored over RENDITIONS of every text. flite says a text the same way every time.
        renditions = RENDITIONS if voice == "joe" else 1
        for normalize in (True, False) if voice in ("joe", "slt") else (True,):
            predictor = TtsPredictor(TtsParams(voice=voice, normalize=normalize))
            predictor.predict([{"text": "Warm up."}])  # the worker process starts and loads once
            factors, heard = [], {name: [] for name in ("lj", "written")}
            for text in texts * renditions:
                began = time.perf_counter()
                answer = predictor.predict([{"text": text, "format": "pcm", "sample_rate": 16000}])[0]
                factors.append((time.perf_counter() - began) / (answer["duration_ms"] / 1000))
                samples = np.frombuffer(base64.b64decode(answer["audio"]), "<i2").astype(np.int16)
                said = asr.transcribe(audio.Audio(samples, 16000), word_timestamps=False)["text"]
                heard["lj" if text in lj_texts else "written"].append(said)
                if os.environ.get("SPEECH_BENCH_SHOW") and words_for_scoring(text) != words_for_scoring(said):
                    print(f"  {voice}: {text!r}\n     heard {said!r}")
            predictor.close()
            lj, written = lj_texts * renditions, SENTENCES[:limit] * renditions
            results.append({
                "voice": voice,
                "normalize": normalize,
                "renditions": renditions,
                "rtf_median": statistics.median(factors),
                "wer_lj": score(lj, heard["lj"]),
                "wer_written": score(written, heard["written"]),
                "wer_all": score(lj + written, heard["lj"] + heard["written"]),
            })  # fmt: skip
    return results


class _StageClock:
    """CPU seconds (all threads, ``time.process_time``) spent in each call of an object, by method name."""

    def __init__(self, inner, names: tuple[str, ...], spent: dict[str, float], prefix: str = ""):
        self._inner, self._names, self._spent, self._prefix = inner, names, spent, prefix

    def __getattr__(self, name: str):
        found = getattr(self._inner, name)
        if name not in self._names:
            return found

        def timed(*args, **kwargs):
            began = time.process_time()
            try:
                return found(*args, **kwargs)
            finally:
                key = (self._prefix + ("" if name == "__call__" else name)).strip()
                self._spent[key] = self._spent.get(key, 0.0) + time.process_time() - began

        return timed

    def __call__(self, *args, **kwargs):
        return self.__getattr__("__call__")(*args, **kwargs)


def bench_asr_stages(limit: int | None) -> tuple[dict[str, float], float, float]:
    """Where the default asr (base, word timings) spends its CPU time: per CTranslate2 call and the mel features."""
    clips = [audio.decode((DATA / r["file"]).read_bytes(), 16000, 60) for r in lj_rows(limit)]
    predictor = AsrPredictor(AsrParams(), CACHE)
    whisper = predictor._model
    spent: dict[str, float] = {}
    calls = ("encode", "detect_language", "generate", "align")
    whisper.model = _StageClock(whisper.model, calls, spent, "CTranslate2 ")
    whisper.feature_extractor = _StageClock(whisper.feature_extractor, ("__call__",), spent, "mel features")
    predictor.transcribe(clips[0])  # warm-up, not counted
    spent.clear()
    began = time.process_time()
    for sound in clips:
        predictor.transcribe(sound)
    return spent, time.process_time() - began, sum(sound.seconds for sound in clips)


def bench_memory() -> dict:
    before = rss_mb(os.getpid())
    tts = TtsPredictor(TtsParams(voice="joe"))
    asr = AsrPredictor(AsrParams(), CACHE)
    spoken = tts.predict([{"text": "Memory check, one two three."}])[0]
    asr.predict([{"audio": spoken["audio"]}])
    worker = tts._engines["joe"]._process.pid
    added = rss_mb(os.getpid()) - before + rss_mb(worker)
    tts.close()
    return {"added_mb": added}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--part", choices=("all", "asr", "tts", "asr-stages"), default="all")
    arguments = parser.parse_args()
    limit = 10 if arguments.quick else None
    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.1f}")
    if arguments.part == "asr-stages":
        print_asr_stages(limit)
        return
    memory = bench_memory()  # first, before anything else is loaded in this process
    if arguments.part in ("all", "asr"):
        print_asr(limit)
    if arguments.part in ("all", "tts"):
        print_tts(limit)
    print(f"\nMemory: tts (joe, worker included) + asr loaded and used once add {memory['added_mb']:.0f} MB")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


def print_asr(limit: int | None) -> None:
    print("\nASR on LJ Speech clips (WER on normalised words; real-time factor, 2 threads)")
    print(f"{'system':58} {'WER':>7} {'RTF median':>11} {'RTF total':>10} {'CPU s/audio s':>14}")
    for row in bench_asr(limit):
        print(f"{row['system']:58} {row['wer']:7.2%} {row['rtf_median']:11.3f} {row['rtf_total']:10.3f} "
              f"{row['cpu_per_audio_second']:14.3f}")  # fmt: skip


def print_asr_stages(limit: int | None) -> None:
    spent, total, seconds = bench_asr_stages(limit)
    print("\nasr default (Whisper base, word timings): CPU seconds per audio second, by stage")
    for stage, cpu in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"{stage:40} {cpu / seconds:8.4f}")
    print(f"{'everything else (Python, faster-whisper)':40} {(total - sum(spent.values())) / seconds:8.4f}")
    print(f"{'total':40} {total / seconds:8.4f}")


def print_tts(limit: int | None) -> None:
    print("\nTTS per voice: real-time factor, and WER of Flywheel asr on the voice's audio")
    print(f"{'voice':6} {'normalise':>9} {'renditions':>10} {'RTF median':>11} {'WER LJ':>7} {'WER written':>12} "
          f"{'WER all':>8}")  # fmt: skip
    asr = AsrPredictor(AsrParams(), CACHE)
    for row in bench_tts(limit, asr):
        normalise = "on" if row["normalize"] else "off"
        print(f"{row['voice']:6} {normalise:>9} {row['renditions']:10} {row['rtf_median']:11.3f} "
              f"{row['wer_lj']:7.2%} {row['wer_written']:12.2%} {row['wer_all']:8.2%}")  # fmt: skip


if __name__ == "__main__":
    main()
