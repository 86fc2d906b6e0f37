"""Benchmark the bot's language understanding: intents and out-of-scope on CLINC150, Banking77; turn latency.

Run: ``.venv/bin/python bench/intents.py [--cache DIR]``
(``--cache`` keeps the sentence embeddings between runs; they take minutes on 2 cores.)

Side by side, in one run, on the same data:

- ``ours``: the bot kind's classifier (MiniLM embeddings + TF-IDF word and character n-grams,
  a linear SVM head on both and one on the TF-IDF part alone (10%), each softmax temperature
  calibrated out of fold, and a vote of the five nearest training utterances), out-of-scope
  threshold calibrated on the training file alone: on CLINC150 the lowest score that rejects
  85% of the training file's 100 out-of-scope queries (``oos_train``), which it never trains
  on; nothing from validation;
- ``MiniLM + LR``: logistic regression on the same embeddings alone;
- ``TF-IDF + LR``: logistic regression on word n-grams.

The two peers get an out-of-scope threshold tuned on the validation set itself (the
lowest that reaches 80% OOS recall): an advantage ours does not have.

CLINC150 (``../shared/data/clinc150``): train on train, score on validation (3,000
in-scope, 100 out-of-scope). In-scope accuracy counts a rejected in-scope utterance as
wrong. Banking77 (``../shared/data/banking77/train.csv``): five stratified 80/20 splits of
the training file (seeds 0-4), every system on the same splits, the median reported (one
split's accuracy moves by about a point with the seed alone). Latency: text turns of the demo food bot (embedding, NLU,
slot parsers, dialog) one utterance at a time, and one CLINC150 utterance through the
150-intent classifier.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from aiflywheel.kinds.bot.nlu import IntentClassifier
from aiflywheel.kinds.components.embeddings import text_embedder

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TARGET_RECALL = 0.80
BANKING_SEEDS = (0, 1, 2, 3, 4)


def embed(texts: list[str], cache: Path | None, key: str) -> np.ndarray:
    if cache is not None and (cache / f"{key}.npy").exists():
        return np.load(cache / f"{key}.npy")
    vectors = text_embedder().embed(texts)
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        np.save(cache / f"{key}.npy", vectors)
    return vectors


def scored(truth, predicted, scores, oos_scores, threshold) -> dict:
    kept = scores >= threshold
    return {
        "accuracy": float(np.mean((predicted == truth) & kept)),
        "oos_recall": float(np.mean(oos_scores < threshold)) if oos_scores is not None else None,
        "accuracy_no_rejection": float(np.mean(predicted == truth)),
    }


def tuned_threshold(oos_scores: np.ndarray) -> float:
    """The lowest threshold that rejects TARGET_RECALL of the OOS utterances (tuned on the test data)."""
    return float(np.quantile(oos_scores, TARGET_RECALL)) + 1e-9


class Peer:
    def __init__(self, name, features):
        self.name, self.features = name, features

    def run(self, train_x, train_y, test_x, test_y, oos_x=None) -> dict:
        model = LogisticRegression(C=10.0, max_iter=500)
        began = time.perf_counter()
        fitted = self.features(train_x, fit=True)
        model.fit(fitted, train_y)
        seconds = time.perf_counter() - began
        probability = model.predict_proba(self.features(test_x))
        predicted = model.classes_[probability.argmax(axis=1)]
        scores = probability.max(axis=1)
        if oos_x is None:
            return {**scored(test_y, predicted, scores, None, 0.0), "fit_s": seconds}
        oos_scores = model.predict_proba(self.features(oos_x)).max(axis=1)
        return {**scored(test_y, predicted, scores, oos_scores, tuned_threshold(oos_scores)), "fit_s": seconds}


def tfidf_features():
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)

    def features(data, fit=False):
        texts = data[0]
        return vectorizer.fit_transform(texts) if fit else vectorizer.transform(texts)

    return features


def ours(train_x, train_y, test_x, test_y, oos_x=None, oos_train_x=((), None)) -> dict:
    began = time.perf_counter()
    classifier = IntentClassifier(text_embedder().embed).fit(train_x[0], train_y, train_x[1], *oos_train_x)
    seconds = time.perf_counter() - began
    ranked = classifier.rank(test_x[0], test_x[1])
    predicted = np.array([answer.ranking[0][0] for answer in ranked])
    scores = np.array([answer.score for answer in ranked])
    oos_scores = None
    if oos_x is not None:
        oos_scores = np.array([answer.score for answer in classifier.rank(oos_x[0], oos_x[1])])
    return {**scored(test_y, predicted, scores, oos_scores, classifier.threshold_), "fit_s": seconds}, classifier


def latency(clinc_classifier: IntentClassifier, utterances: list[str]) -> dict:
    """Milliseconds per text turn of the food bot, and per utterance of the CLINC150 classifier."""
    from aiflywheel.kinds.bot import BotKind
    from aiflywheel.kinds.bot.example import demo_definition

    kind = BotKind()
    with tempfile.TemporaryDirectory() as folder:
        data_path = Path(folder) / "u.parquet"
        pd.DataFrame({"text": ["hello"], "intent": ["greet"]}).to_parquet(data_path)
        from aiflywheel.kernel.kinds import TrainingData

        class Quiet:
            def __call__(self, *args):
                pass

            def log(self, *args):
                pass

        model = Path(folder) / "model"
        model.mkdir()
        kind.train(TrainingData(data_path, ()), kind.Params(definition=demo_definition()), Quiet(), model)
        before = resident_mb()
        bot = kind.load(model)
        bot.predict([{"text": "hello"}])
        added = resident_mb() - before
    script = ["i want to order food", "two pizzas please", "at 7pm", "yes", "where is my order", "when are you open",
              "can i get 3 burgers at 8pm", "no", "what's the weather like", "hello"]  # fmt: skip
    turns, cpu, session = [], [], None
    for _ in range(30):
        for text in script:
            began, began_cpu = time.perf_counter(), time.process_time()
            reply = bot.predict([{"text": text, "session": session}])[0]
            turns.append((time.perf_counter() - began) * 1000)
            cpu.append((time.process_time() - began_cpu) * 1000)
            session = reply["session"]
    single, single_cpu = [], []
    for text in utterances[:300]:
        began, began_cpu = time.perf_counter(), time.process_time()
        clinc_classifier.rank([text])
        single.append((time.perf_counter() - began) * 1000)
        single_cpu.append((time.process_time() - began_cpu) * 1000)
    return {"turn": turns, "turn_cpu": cpu, "clinc": single, "clinc_cpu": single_cpu, "bot_mb": added}


def resident_mb() -> float:
    """This process's resident memory (Linux ``/proc``)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 2**20


def pct(values, q) -> float:
    return float(np.percentile(values, q))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=None, help="folder keeping sentence embeddings between runs")
    args = parser.parse_args(argv)
    clinc = json.loads((DATA / "clinc150" / "clinc150_train_val.json").read_text())
    began = time.perf_counter()
    columns = {}
    for part in ("train", "val", "oos_train", "oos_val"):
        texts = [text for text, _ in clinc[part]]
        columns[part] = (texts, embed(texts, args.cache, f"clinc_{part}"), np.array([i for _, i in clinc[part]]))
    banking = pd.read_csv(DATA / "banking77" / "train.csv")
    b_vectors = embed(banking["text"].tolist(), args.cache, "banking")

    def bank_split(seed: int) -> dict:
        b_train, b_test = train_test_split(banking, test_size=0.2, stratify=banking["category"], random_state=seed)
        return {
            name: (part["text"].tolist(), b_vectors[part.index.to_numpy()], part["category"].to_numpy())
            for name, part in (("train", b_train), ("test", b_test))
        }

    bank_splits = [bank_split(seed) for seed in BANKING_SEEDS]
    print(f"embeddings ready in {time.perf_counter() - began:.0f} s", file=sys.stderr)

    def x(part):
        return part[0], part[1]

    results = {}
    ours_clinc, clinc_classifier = ours(x(columns["train"]), columns["train"][2], x(columns["val"]),
                                        columns["val"][2], x(columns["oos_val"]), x(columns["oos_train"]))  # fmt: skip
    ours_bank = [ours(x(bank["train"]), bank["train"][2], x(bank["test"]), bank["test"][2])[0] for bank in bank_splits]
    results["ours (embeddings + TF-IDF words and chars, SVMs + neighbour vote, calibrated on train)"] = (
        ours_clinc,
        ours_bank,
    )
    peers = [
        Peer("MiniLM + LR (threshold tuned on val)", lambda data, fit=False: data[1]),
        Peer("TF-IDF + LR (threshold tuned on val)", tfidf_features()),
    ]
    for peer in peers:
        clinc_result = peer.run(x(columns["train"]), columns["train"][2], x(columns["val"]), columns["val"][2],
                                x(columns["oos_val"]))  # fmt: skip
        results[peer.name] = (
            clinc_result,
            [peer.run(x(bank["train"]), bank["train"][2], x(bank["test"]), bank["test"][2]) for bank in bank_splits],
        )
    timings = latency(clinc_classifier, columns["val"][0])

    print("\n| system | CLINC150 in-scope acc (one threshold) | OOS recall | CLINC150 acc, no rejection |"
          " Banking77 acc, median of 5 splits (range) | fit s (CLINC) |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for name, (c, b) in results.items():
        bank_accuracies = [split["accuracy_no_rejection"] for split in b]
        print(f"| {name} | {c['accuracy']:.1%} | {c['oos_recall']:.1%} | {c['accuracy_no_rejection']:.1%} |"
              f" {statistics.median(bank_accuracies):.1%} ({min(bank_accuracies):.1%} .. {max(bank_accuracies):.1%})"
              f" | {c['fit_s']:.0f} |")  # fmt: skip
    print("\n| latency (ms) | median | p90 | p99 |")
    print("|---|---|---|---|")
    rows = (
        ("food bot, one text turn (300 turns), wall", "turn"),
        ("food bot, one text turn, CPU time of the process", "turn_cpu"),
        ("CLINC150 classifier, one utterance, wall", "clinc"),
        ("CLINC150 classifier, one utterance, CPU time of the process", "clinc_cpu"),
    )
    for label, key in rows:
        values = timings[key]
        print(f"| {label} | {statistics.median(values):.1f} | {pct(values, 90):.1f} | {pct(values, 99):.1f} |")
    print(f"\nload average during the run (1, 5, 15 min): {os.getloadavg()} on {os.cpu_count()} cores")
    print(f"memory a loaded food bot adds (the embedding model already loaded): {timings['bot_mb']:.0f} MB")
    targets = (
        ours_clinc["accuracy"] >= 0.94
        and ours_clinc["oos_recall"] >= 0.80
        and statistics.median(split["accuracy_no_rejection"] for split in ours_bank) >= 0.935
    )
    print(f"\ntargets (CLINC ≥ 94% with OOS recall ≥ 80%, Banking77 ≥ 93.5%): {'met' if targets else 'MISSED'};"
          f" p99 turn {pct(timings['turn'], 99):.1f} ms (target < 30)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
