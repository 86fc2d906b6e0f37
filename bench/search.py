"""Benchmark the ranker kind against bm25s and the reciprocal-rank fusion of bm25s and dense MiniLM on Cranfield.

Run: ``.venv/bin/python bench/search.py [--folds 5] [--requests 500] [--quality-only]``

Data: ``../shared/data/cranfield`` (read in place): 1,400 documents (title, text) and the
180 development queries with graded judgments (relevance 0-4).

- **bm25s**: ``bm25s.BM25`` (Lucene scoring, k1 1.5, b 0.75) over title + text, tokenized by
  ``bm25s.tokenize`` with English stop words and the Snowball stemmer (PyStemmer).
- **bm25s + MiniLM (RRF)**: the same bm25s top 100 fused with the top 100 of dense
  all-MiniLM-L6-v2 (the shared embedding component, title + text up to the model's 256
  tokens) by reciprocal-rank fusion, 1 / (60 + rank).
- **ours**: the ``ranker`` kind with default parameters. Its index (BM25 per field and over
  all fields, MiniLM vectors of the first 128 words) is built once; then, with 5-fold
  cross-validation over the queries, its re-ranker is trained by the kind's own training
  step (``learn.train_reranker``: its variants - feature set x size of model - compared by an
  inner 3-fold cross-validation of the 4 training folds, the best kept only if it beats the
  fusion there) on 4 folds
  and the fifth fold's queries are answered by ``RankerPredictor.predict``, as a client's are.

Every system is scored on every query exactly once (each in its held-out fold): nDCG@10
(linear gains), MAP and Recall@100 (relevance > 0). Indexing seconds: building each
system's index over the 1,400 documents, embeddings included. Latency: ``flywheel up``
serving the model that ``flywheel train ranker`` builds from every document and judgment,
one request ``{"query", "k": 10}`` at a time over a keep-alive connection; the resident
memory the served index adds is the server's RSS after the first query minus before it.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bm25s
import httpx
import numpy as np
import pandas as pd
import Stemmer

from aiflywheel.kinds.components.embeddings import text_embedder
from aiflywheel.kinds.ranker.data import Judgments
from aiflywheel.kinds.ranker.index import SearchIndex
from aiflywheel.kinds.ranker.learn import train_reranker
from aiflywheel.kinds.ranker.metrics import DEPTH, summarize
from aiflywheel.kinds.ranker.params import RankerParams
from aiflywheel.kinds.ranker.predictor import RankerPredictor

CRANFIELD = Path(__file__).resolve().parents[2] / "shared" / "data" / "cranfield"
BIN = Path(sys.executable).parent
RRF_K = 60.0


def load() -> tuple[pd.DataFrame, Judgments]:
    corpus = pd.read_json(CRANFIELD / "corpus.jsonl", lines=True, dtype={"doc_id": str})
    corpus[["title", "text"]] = corpus[["title", "text"]].fillna("")
    queries = pd.read_csv(CRANFIELD / "queries_dev.tsv", sep="\t", dtype=str)
    qrels = pd.read_csv(CRANFIELD / "qrels_dev.tsv", sep="\t", dtype={"query_id": str, "doc_id": str})
    text = dict(zip(queries["query_id"], queries["text"], strict=True))
    relevance: dict[str, dict[str, int]] = {}
    for row in qrels.itertuples():
        relevance.setdefault(row.query_id, {})[row.doc_id] = int(row.relevance)
    return corpus, Judgments({key: text[key] for key in relevance}, relevance)


def clocks() -> np.ndarray:
    """Wall and CPU seconds (this process's CPU time: the machine may be shared)."""
    return np.array([time.perf_counter(), time.process_time()])


def peers(corpus: pd.DataFrame, judged: Judgments) -> tuple[dict, dict, np.ndarray, np.ndarray]:
    """Rankings of bm25s and of bm25s + MiniLM fused, and each one's indexing (wall, CPU) seconds."""
    stemmer = Stemmer.Stemmer("english")
    texts = (corpus["title"] + " " + corpus["text"]).tolist()
    began = clocks()
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False)
    bm25_seconds = clocks() - began
    began = clocks()
    vectors = text_embedder().embed(texts)
    dense_seconds = clocks() - began
    keys = list(judged.queries)
    tokens = bm25s.tokenize([judged.queries[k] for k in keys], stopwords="en", stemmer=stemmer, show_progress=False)
    found, _ = retriever.retrieve(tokens, k=DEPTH, show_progress=False)
    query_vectors = text_embedder().embed([judged.queries[k] for k in keys])
    ids = corpus["doc_id"].tolist()
    lexical, fused = {}, {}
    for row, key in enumerate(keys):
        lexical[key] = [ids[i] for i in found[row]]
        dense = np.argsort(-(vectors @ query_vectors[row]), kind="stable")[:DEPTH]
        score: dict[int, float] = {}
        for ranking in (found[row], dense):
            for rank, doc in enumerate(ranking, start=1):
                score[int(doc)] = score.get(int(doc), 0.0) + 1.0 / (RRF_K + rank)
        fused[key] = [ids[i] for i in sorted(score, key=lambda doc: (-score[doc], doc))[:DEPTH]]
    return lexical, fused, bm25_seconds, bm25_seconds + dense_seconds


def ours(corpus: pd.DataFrame, judged: Judgments, folds: int) -> tuple[dict, np.ndarray, list, list, np.ndarray]:
    """Held-out rankings, indexing (wall, CPU) seconds, each fold's choice and queries, CPU ms of single queries."""
    params = RankerParams()
    began = clocks()
    index = SearchIndex.build(
        corpus["doc_id"].tolist(),
        {"title": corpus["title"].tolist(), "text": corpus["text"].tolist()},
        corpus[[]],
        params.field_weights,
        params.dense_words,
    )
    seconds = clocks() - began
    keys = list(judged.queries)
    order = np.random.default_rng(0).permutation(len(keys))
    rankings, choices, held_out = {}, [], []
    for fold in np.array_split(order, folds):
        test = [keys[i] for i in fold]
        held_out.append(test)
        train = judged.subset([k for k in keys if k not in set(test)])
        booster, _, summary = train_reranker(index, train, params)
        choices.append(summary.get("variant", "fusion"))
        predictor = RankerPredictor(index, booster, params)
        answers = predictor.predict([{"query": judged.queries[k], "k": DEPTH} for k in test])
        for key, answer in zip(test, answers, strict=True):
            rankings[key] = [result["doc_id"] for result in answer["results"]]
    cpu_ms = []
    for key in keys:  # the last fold's predictor, one query per call, as the endpoint calls it
        began = clocks()
        predictor.predict([{"query": judged.queries[key], "k": 10}])
        cpu_ms.append((clocks() - began)[1] * 1000)
    return rankings, seconds, choices, held_out, np.array(cpu_ms)


def run(*command, env) -> str:
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, env=env)
    if result.returncode:
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def rss_mb(pid: int) -> float:
    total = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            if os.getpgid(int(status.parent.name)) != pid:
                continue
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines())
        except (OSError, ValueError):
            continue
        total += int(fields.get("VmRSS", "0 kB").split()[0])
    return total / 1024


def endpoint(corpus: pd.DataFrame, judged: Judgments, work: Path, requests: int) -> dict:
    """Train, deploy and serve with the CLI; time single queries through the endpoint."""
    home = work / "home"
    env = {**os.environ, "FLYWHEEL_HOME": str(home)}
    rows = [
        {"query_id": key, "query": judged.queries[key], "doc_id": doc, "relevance": float(gain)}
        for key, gains in judged.relevance.items()
        for doc, gain in gains.items()
    ]
    table = pd.concat([corpus[["doc_id", "title", "text"]], pd.DataFrame(rows)], ignore_index=True)
    path = work / "cranfield.parquet"
    table.to_parquet(path, index=False)
    flywheel = [BIN / "flywheel", "--home", home]
    run(*flywheel, "datasets", "create", "cranfield", path, env=env)
    run(*flywheel, "train", "ranker", "--dataset", "cranfield", "--model", "search", "--wait", env=env)
    run(*flywheel, "deploy", "search:1", "--endpoint", "search", env=env)
    key = re.findall(r"fw_\S+", run(*flywheel, "keys", "create", "--role", "writer", env=env))[-1]
    port = _free_port()
    log = open(work / "server.log", "w")  # noqa: SIM115 - held open for the server's whole life
    server = subprocess.Popen(
        [str(part) for part in (*flywheel, "up", "--host", "127.0.0.1", "--port", str(port))],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/v1/endpoints/search/invocations"
    headers = {"Authorization": f"Bearer {key}"}
    texts = list(judged.queries.values())
    try:
        with httpx.Client(timeout=60) as client:
            deadline = time.monotonic() + 120
            while True:
                try:
                    client.get(f"http://127.0.0.1:{port}/v1/endpoints", headers=headers)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError((work / "server.log").read_text()[-3000:]) from None
                    time.sleep(0.5)
            time.sleep(2.0)
            before = rss_mb(server.pid)
            client.post(url, json={"instances": [{"query": texts[0], "k": 10}]}, headers=headers)
            after = rss_mb(server.pid)
            timings = []
            for text in np.random.default_rng(0).choice(texts, size=requests):
                began = time.perf_counter()
                response = client.post(url, json={"instances": [{"query": str(text), "k": 10}]}, headers=headers)
                timings.append((time.perf_counter() - began) * 1000)
                response.raise_for_status()
            results = response.json()["predictions"][0]["results"]
            assert len(results) == 10, results
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    return {
        "p50": float(np.percentile(timings, 50)),
        "p99": float(np.percentile(timings, 99)),
        "rss_added": after - before,
    }


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument(
        "--quality-only", action="store_true", help="skip training, serving and timing through the endpoint"
    )
    args = parser.parse_args()
    corpus, judged = load()
    lexical, fused, bm25_seconds, fusion_seconds = peers(corpus, judged)
    ranked, our_seconds, choices, held_out, cpu_ms = ours(corpus, judged, args.folds)
    served = None
    if not args.quality_only:
        with tempfile.TemporaryDirectory() as scratch:
            served = endpoint(corpus, judged, Path(scratch), args.requests)
    print(f"Cranfield: {len(corpus)} documents, {len(judged)} judged queries, {args.folds}-fold CV over queries")
    print("ours, chosen per fold:\n" + "\n".join(f"  {number}. {choice}" for number, choice in enumerate(choices, 1)))
    print("nDCG@10 per fold (each fold's held-out queries): bm25s / fusion / ours (ours vs the fusion)")
    for number, keys in enumerate(held_out, 1):
        scores = [
            summarize({k: ranking[k] for k in keys}, judged.relevance)["ndcg@10"]
            for ranking in (lexical, fused, ranked)
        ]
        print(f"  {number}. {scores[0]:.4f} / {scores[1]:.4f} / {scores[2]:.4f} ({scores[2] / scores[1] - 1:+.1%})")
    print("| system | nDCG@10 | MAP | Recall@100 | indexing s (wall) | indexing s (CPU) |")
    print("|---|---|---|---|---|---|")
    for name, rankings, seconds in (
        ("bm25s", lexical, bm25_seconds),
        ("bm25s + MiniLM (RRF)", fused, fusion_seconds),
        ("ours (ranker kind)", ranked, our_seconds),
    ):
        m = summarize(rankings, judged.relevance)
        print(
            f"| {name} | {m['ndcg@10']:.4f} | {m['map']:.4f} | {m['recall@100']:.4f} "
            f"| {seconds[0]:.1f} | {seconds[1]:.1f} |"
        )
    if served is not None:
        print(
            f"\nThrough the endpoint ({args.requests} single queries, k=10): p50 {served['p50']:.1f} ms, "
            f"p99 {served['p99']:.1f} ms; resident memory added by the served index {served['rss_added']:.0f} MB"
        )
    print(
        f"In process, CPU time of one query (predict, {len(cpu_ms)} queries): "
        f"p50 {np.percentile(cpu_ms, 50):.1f} ms, p99 {np.percentile(cpu_ms, 99):.1f} ms"
    )


if __name__ == "__main__":
    main()
