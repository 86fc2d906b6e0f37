"""Benchmark the recommender kind against tuned implicit ALS and popularity on MovieLens.

Run: ``.venv/bin/python bench/recommendations.py [--sets ml-100k,ml-latest-small] [--requests 2000]``

Data: ``../shared/data/movielens`` (read in place). In each set, each user's latest 10
ratings of the training file are the test; everything before them is what every model
learns from, as implicit feedback (a rating is an interaction; its value is not used).

- **ours**: the ``recommender`` kind with default parameters (it chooses its model on its
  own time-ordered validation split of the training part), scored through
  ``predictor.predict`` exactly as a client's requests are answered.
- **implicit ALS (tuned)**: ``implicit.cpu.als.AlternatingLeastSquares`` with its factors,
  regularization and alpha chosen by a grid on a validation split made the same way (each
  user's latest 10 training items), then refitted on the whole training part; users without
  training rows get the popular items.
- **popularity**: items by interaction count.

Metrics are NDCG@10 and Recall@10 (hits over min(10, relevant)) on the same users, with
already-seen items excluded for every model. Training seconds are the median of 3 fits
(ALS: its final fit alone, and its grid search). Latency: ``flywheel up`` serving the
ML-100K model trained by ``flywheel train recommender``, one request ``{"user_id", "n": 10}``
at a time over a keep-alive connection; the resident memory the loaded model adds is the
server's RSS after the first recommendation minus its RSS before it.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from aiflywheel.kernel.ingest import ingest
from aiflywheel.kernel.kinds import TrainingData, parse_params
from aiflywheel.kinds.recommender import RecommenderKind
from aiflywheel.kinds.recommender.metrics import ranking_metrics, top_k

MOVIELENS = Path(__file__).resolve().parents[2] / "shared" / "data" / "movielens"
BIN = Path(sys.executable).parent
TEST_ITEMS = 10
REPEATS = 3
ALS_GRID = [
    {"factors": f, "regularization": r, "alpha": a} for f in (16, 32, 64, 128) for r in (0.01, 0.1) for a in (1.0, 10.0)
]


class QuietProgress:
    def __call__(self, fraction: float, message: str = "") -> None:
        pass

    def log(self, message: str) -> None:
        pass


def load(name: str) -> pd.DataFrame:
    if name == "ml-100k":
        frame = pd.read_csv(MOVIELENS / name / "ratings_train.tsv", sep="\t", names=["u", "i", "r", "t"])
    else:
        frame = pd.read_csv(MOVIELENS / name / "ratings_train.csv")
        frame.columns = ["u", "i", "r", "t"]
    frame = frame.sort_values(["u", "t"], kind="stable").reset_index(drop=True)
    return frame.astype({"u": str, "i": str})


def split_last(frame: pd.DataFrame, k: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(before, last): each user's latest ``k`` rows (ties by file order) are ``last``."""
    latest = frame.groupby("u").cumcount(ascending=False) < k
    return frame[~latest], frame[latest]


def dataset(frame: pd.DataFrame, folder: Path) -> TrainingData:
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table({"user_id": frame["u"].to_numpy(), "item_id": frame["i"].to_numpy(), "timestamp": frame["t"]})
    pq.write_table(table, folder / "raw.parquet")
    (folder / "ingest").mkdir(exist_ok=True)
    ingested = ingest(folder / "raw.parquet", folder / "ingest")
    return TrainingData(ingested.path, ingested.columns)


def ours(train: pd.DataFrame, test: pd.DataFrame, work: Path) -> dict:
    kind = RecommenderKind()
    params = parse_params(kind, {})
    data, test_data = dataset(train, work / "train"), dataset(test, work / "test")
    seconds, result = [], None
    for repeat in range(REPEATS):
        model = work / f"model{repeat}"
        model.mkdir()
        began = time.perf_counter()
        result = kind.train(data, params, QuietProgress(), model)
        seconds.append(time.perf_counter() - began)
    predictor = kind.load(work / "model0")
    metrics = kind.evaluate(predictor, test_data, params)
    users = [{"user_id": user, "n": 10} for user in test["u"].unique()[:500]]
    latency = []
    for request in users:
        began = time.perf_counter()
        predictor.predict([request])
        latency.append((time.perf_counter() - began) * 1000)
    return {
        "ndcg": metrics["ndcg@10"],
        "recall": metrics["recall@10"],
        "seconds": statistics.median(seconds),
        "note": result.summary["chosen"],
        "inproc_p50": float(np.percentile(latency, 50)),
        "inproc_p99": float(np.percentile(latency, 99)),
    }


class Indexed:
    """Users × items matrices of a frame split, with ids shared by train and test."""

    def __init__(self, train: pd.DataFrame, test: pd.DataFrame):
        self.users = pd.Index(pd.unique(pd.concat([train["u"], test["u"]])))
        self.items = pd.Index(pd.unique(train["i"]))
        self.train = self.matrix(train)
        self.test_users = self.users.get_indexer(pd.unique(test["u"]))
        known = test[test["i"].isin(self.items)]
        by_user = known.groupby("u")["i"].apply(lambda s: self.items.get_indexer(s).astype(np.int64))
        self.truth = [by_user.get(user, np.empty(0, np.int64)) for user in self.users[self.test_users]]
        self.truth = [t if len(t) else np.array([-1]) for t in self.truth]  # unknown items only: a sure miss

    def matrix(self, frame: pd.DataFrame) -> sp.csr_matrix:
        frame = frame[frame["i"].isin(self.items)]
        values = np.ones(len(frame), dtype=np.float32)
        rows, cols = self.users.get_indexer(frame["u"]), self.items.get_indexer(frame["i"])
        matrix = sp.csr_matrix((values, (rows, cols)), shape=(len(self.users), len(self.items)))
        matrix.data[:] = 1.0  # repeated ratings of an item count once
        return matrix

    def score(self, scores: np.ndarray) -> dict:
        top = top_k(scores, self.train[self.test_users], 10)
        return ranking_metrics(top, self.truth, len(self.items), 10)


def fit_als(matrix: sp.csr_matrix, setting: dict):
    from implicit.cpu.als import AlternatingLeastSquares

    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(iterations=15, random_state=0, num_threads=2, **setting)
        model.fit(matrix, show_progress=False)
    return model


def als_scores(model, matrix: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
    scores = model.user_factors[users] @ model.item_factors.T
    cold = np.asarray(matrix[users].sum(axis=1)).ravel() == 0
    scores[cold] = np.asarray(matrix.sum(axis=0)).ravel()  # no training rows: popular items
    return scores


def tuned_als(train: pd.DataFrame, test: pd.DataFrame) -> dict:
    began = time.perf_counter()
    fit_part, valid = split_last(train, TEST_ITEMS)
    tuning = Indexed(fit_part, valid)
    best, best_ndcg = None, -1.0
    for setting in ALS_GRID:
        model = fit_als(tuning.train, setting)
        ndcg = tuning.score(als_scores(model, tuning.train, tuning.test_users))["ndcg@10"]
        if ndcg > best_ndcg:
            best, best_ndcg = setting, ndcg
    search = time.perf_counter() - began
    final = Indexed(train, test)
    seconds = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        model = fit_als(final.train, best)
        seconds.append(time.perf_counter() - began)
    metrics = final.score(als_scores(model, final.train, final.test_users))
    shown = ", ".join(f"{k}={v:g}" for k, v in best.items())
    return {
        "ndcg": metrics["ndcg@10"],
        "recall": metrics["recall@10"],
        "seconds": statistics.median(seconds),
        "search": search,
        "note": f"{shown} (grid of {len(ALS_GRID)})",
    }


def popularity(train: pd.DataFrame, test: pd.DataFrame) -> dict:
    began = time.perf_counter()
    indexed = Indexed(train, test)
    counts = np.asarray(indexed.train.sum(axis=0)).ravel()
    seconds = time.perf_counter() - began
    metrics = indexed.score(np.tile(counts, (len(indexed.test_users), 1)))
    return {"ndcg": metrics["ndcg@10"], "recall": metrics["recall@10"], "seconds": seconds, "note": "counts"}


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


def endpoint(train: pd.DataFrame, test: pd.DataFrame, work: Path, requests: int) -> dict:
    """Train, deploy and serve with the CLI; time single recommendations through the endpoint."""
    work.mkdir(parents=True, exist_ok=True)
    home = work / "home"
    env = {**os.environ, "FLYWHEEL_HOME": str(home)}
    csv = work / "ratings.csv"
    train.rename(columns={"u": "user_id", "i": "item_id", "t": "timestamp"})[
        ["user_id", "item_id", "timestamp"]
    ].to_csv(csv, index=False)
    flywheel = [BIN / "flywheel", "--home", home]
    run(*flywheel, "datasets", "create", "movies", csv, env=env)
    run(*flywheel, "train", "recommender", "--dataset", "movies", "--model", "movies", "--wait", env=env)
    run(*flywheel, "deploy", "movies:1", "--endpoint", "movies", env=env)
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
    url = f"http://127.0.0.1:{port}/v1/endpoints/movies/invocations"
    headers = {"Authorization": f"Bearer {key}"}
    try:
        with httpx.Client(timeout=30) as client:
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
            users = test["u"].unique()
            client.post(url, json={"instances": [{"user_id": str(users[0]), "n": 10}]}, headers=headers)
            after = rss_mb(server.pid)
            rng = np.random.default_rng(0)
            timings = []
            for user in rng.choice(users, size=requests):
                began = time.perf_counter()
                response = client.post(url, json={"instances": [{"user_id": str(user), "n": 10}]}, headers=headers)
                timings.append((time.perf_counter() - began) * 1000)
                response.raise_for_status()
            items = response.json()["predictions"][0]["items"]
            assert len(items) == 10, items
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    return {
        "p50": float(np.percentile(timings, 50)),
        "p99": float(np.percentile(timings, 99)),
        "rss_before": before,
        "rss_added": after - before,
        "requests": requests,
    }


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="ml-100k,ml-latest-small")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--no-endpoint", action="store_true", help="skip the served-latency part")
    args = parser.parse_args()
    rows, served = [], None
    with tempfile.TemporaryDirectory(prefix="bench-rec-") as scratch:
        for name in args.sets.split(","):
            frame = load(name)
            train, test = split_last(frame, TEST_ITEMS)
            print(f"{name}: {len(train)} training ratings, {test['u'].nunique()} test users", flush=True)
            results = {
                "aiflywheel recommender": ours(train, test, Path(scratch) / name),
                "implicit ALS (tuned)": tuned_als(train, test),
                "popularity": popularity(train, test),
            }
            for model, result in results.items():
                print(f"  {model}: {result}", flush=True)
            rows.append((name, results))
            if name == "ml-100k" and not args.no_endpoint:
                served = endpoint(train, test, Path(scratch) / "served", args.requests)
                print(f"  served: {served}", flush=True)
    print("\n| dataset | model | NDCG@10 | Recall@10 | NDCG vs ALS | train s | vs ALS fit | notes |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for name, results in rows:
        als = results["implicit ALS (tuned)"]
        for model, r in results.items():
            note = r["note"] + (f"; grid search {r['search']:.1f} s" if "search" in r else "")
            print(
                f"| {name} | {model} | {r['ndcg']:.4f} | {r['recall']:.4f} | {r['ndcg'] / als['ndcg']:.2f}x "
                f"| {r['seconds']:.2f} | {r['seconds'] / als['seconds']:.2f}x | {note} |"
            )
    for name, results in rows:
        r = results["aiflywheel recommender"]
        print(f"\n{name}: in-process predict of one user: p50 {r['inproc_p50']:.2f} ms, p99 {r['inproc_p99']:.2f} ms")
    if served:
        print(
            f"\nML-100K through the endpoint ({served['requests']} sequential requests): p50 {served['p50']:.2f} ms, "
            f"p99 {served['p99']:.2f} ms; RSS before the model loaded {served['rss_before']:.0f} MB, "
            f"added by loading it {served['rss_added']:.0f} MB"
        )


if __name__ == "__main__":
    main()
