"""Benchmark the fraud kind against LightGBM at defaults and with class weighting, on both fraud sets.

Run: ``.venv/bin/python bench/fraud.py [--seeds N] [--requests N] [--skip-endpoint | --skip-quality]``

Each set of ``../shared/data/fraud`` is split ``--seeds`` times (5; seeds 0, 1, ...),
stratified by label, 80% / 20% (our splits; the held-out rows of the shared folder stay
unseen). For each split all three learn from the same 80% and are scored on the same 20%:

- ``LightGBM defaults``: ``LGBMClassifier()``, text columns as pandas categories;
- ``LightGBM balanced``: the same with ``class_weight="balanced"``;
- ``fraud kind``: ``flywheel``'s detector with default params (it keeps the latest 5%
  of its rows for its own report, ``test_size=0.05``, and 15% of the rest for early
  stopping and calibration; it learns from the rest).

``PolicyNumber`` (vehicle claims) is a row id and excluded for everyone. Metrics, as
medians over the splits: PR-AUC (average precision), ROC-AUC, recall at 1% and 5%
false-positive rate, training seconds; and against default LightGBM, split by split,
the PR-AUC ratio and the recall @5% FPR difference (median, min and max over the splits:
one split's test set holds ~150 frauds on vehicle claims, so one split alone moves by
several points). Then the detector of ``--endpoint-set`` (vehicle claims, split 0)
is served by ``flywheel up`` and 8 client threads, each on its own connection, send one
event per request: p50 / p99 latency, the server's CPU time per request and the
resident memory the served detector added.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from search import _free_port, rss_mb, run  # bench/ is on the path of a script run from it
from sklearn.model_selection import train_test_split

from aiflywheel.kernel.ingest import ingest
from aiflywheel.kernel.kinds import TrainingData, parse_params
from aiflywheel.kinds.fraud import FraudKind
from aiflywheel.kinds.fraud.model import quality

FRAUD = Path(__file__).resolve().parents[2] / "shared" / "data" / "fraud"
SETS = [
    ("vehicle claims", FRAUD / "vehicle_claims_dev.csv", "FraudFound_P", ["PolicyNumber"]),
    ("credit card (ULB sample)", FRAUD / "creditcard_ulb_sample_dev.csv", "Class", []),
]
SEEDS = 5
DEFAULT = "LightGBM defaults"
CONNECTIONS = 8
BIN = Path(sys.executable).parent


class Quiet:
    def __call__(self, fraction: float, message: str = "") -> None:
        pass

    def log(self, message: str) -> None:
        pass


def timed(fit, repeats: int):
    seconds, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fit()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def as_categories(frame: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    for name in frame.columns:
        if not pd.api.types.is_numeric_dtype(reference[name]):
            levels = sorted(reference[name].dropna().unique())
            known = frame[name].where(frame[name].isin(levels))  # a level unseen in training is missing
            frame[name] = pd.Categorical(known, categories=levels)
    return frame


def peers(train: pd.DataFrame, test: pd.DataFrame, target: str, repeats: int) -> dict[str, tuple[float, np.ndarray]]:
    x_train = as_categories(train.drop(columns=[target]), train)
    x_test = as_categories(test.drop(columns=[target]), train)
    results = {}
    for name, options in ((DEFAULT, {}), ("LightGBM balanced", {"class_weight": "balanced"})):
        seconds, model = timed(
            lambda o=options: lgb.LGBMClassifier(verbose=-1, **o).fit(x_train, train[target]), repeats
        )
        results[name] = (seconds, model.predict_proba(x_test)[:, 1])
    return results


def ours(train: pd.DataFrame, test: pd.DataFrame, target: str, exclude: list[str], work: Path, repeats: int):
    pq.write_table(pa.Table.from_pandas(train, preserve_index=False), work / "train.parquet")
    ingested = ingest(work / "train.parquet", work / "ingest")
    data = TrainingData(ingested.path, ingested.columns)
    kind = FraudKind()
    params = parse_params(kind, {"target": target, "exclude": exclude, "test_size": 0.05})

    def fit():
        model_dir = work / "model"
        model_dir.mkdir(exist_ok=True)
        kind.train(data, params, Quiet(), model_dir)
        return model_dir

    seconds, model_dir = timed(fit, repeats)
    predictor = kind.load(model_dir)
    events = test.drop(columns=[target]).to_dict("records")
    scores = np.array([p["score"] for p in predictor.score(predictor.detector.check(events), None, explain=False)])
    return seconds, scores


def endpoint(
    train: pd.DataFrame, test: pd.DataFrame, target: str, exclude: list[str], work: Path, requests: int
) -> dict[str, float]:
    """Train and deploy with the CLI, serve with ``flywheel up``, send single events on 8 connections."""
    home = work / "home"
    env = {**os.environ, "FLYWHEEL_HOME": str(home)}
    path = work / "claims.csv"
    train.to_csv(path, index=False)
    flywheel = [BIN / "flywheel", "--home", home]
    run(*flywheel, "datasets", "create", "claims", path, env=env)
    run(
        *flywheel,
        "train",
        "fraud",
        "--dataset",
        "claims",
        "--target",
        target,
        "--param",
        f"exclude={json.dumps(exclude)}",
        "--model",
        "claims",
        "--wait",
        env=env,
    )
    run(*flywheel, "deploy", "claims:1", "--endpoint", "claims", env=env)
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
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {key}"}
    events = test.drop(columns=[target]).to_dict("records")
    timings: list[float] = []
    try:
        with httpx.Client(timeout=60) as client:
            deadline = time.monotonic() + 120
            while True:
                try:
                    client.get(f"{base}/v1/endpoints", headers=headers)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError((work / "server.log").read_text()[-3000:]) from None
                    time.sleep(0.5)
            time.sleep(2.0)
            before = rss_mb(server.pid)
            cpu_before = cpu_seconds(server.pid)
            url = f"{base}/v1/endpoints/claims/invocations"
            client.post(url, json={"instances": events[:1]}, headers=headers).raise_for_status()
        lock = threading.Lock()

        def worker(offset: int) -> None:
            with httpx.Client(timeout=60) as client:
                for index in range(offset, requests, CONNECTIONS):
                    began = time.perf_counter()
                    response = client.post(url, json={"instances": [events[index % len(events)]]}, headers=headers)
                    elapsed = (time.perf_counter() - began) * 1000
                    response.raise_for_status()
                    with lock:
                        timings.append(elapsed)

        threads = [threading.Thread(target=worker, args=(offset,)) for offset in range(CONNECTIONS)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - began
        cpu = cpu_seconds(server.pid) - cpu_before
        after = rss_mb(server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    return {
        "p50": float(np.percentile(timings, 50)),
        "p99": float(np.percentile(timings, 99)),
        "rps": len(timings) / wall,
        "rss_added": after - before,
        "cpu_ms": 1000 * cpu / len(timings),
    }


def cpu_seconds(group: int) -> float:
    """CPU time (user + system) used so far by the processes of a process group."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # fields after the command name: state, ppid, pgrp, ...
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=SEEDS, help="splits of each set (seeds 0, 1, ...)")
    parser.add_argument("--repeats", type=int, default=1, help="fits per model and split; train s is their median")
    parser.add_argument("--skip-endpoint", action="store_true")
    parser.add_argument("--skip-quality", action="store_true", help="only the endpoint's latency and memory")
    parser.add_argument("--endpoint-set", default="vehicle claims", choices=[name for name, *_ in SETS])
    args = parser.parse_args()
    lines = [
        f"Medians over {args.seeds} stratified 80/20 splits (seeds 0-{args.seeds - 1}); "
        "vs default: the median (min .. max) over the splits of the same split's difference.",
        "",
        "| dataset | model | PR-AUC | ROC-AUC | recall @1% FPR | recall @5% FPR | train s | "
        "PR-AUC vs default | recall @5% FPR vs default |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    served = None
    for name, path, target, exclude in SETS:
        frame = pd.read_csv(path).drop(columns=exclude)
        per_model: dict[str, list[dict[str, float]]] = {}
        for seed in range(0 if args.skip_quality else args.seeds):
            train, test = train_test_split(frame, test_size=0.2, stratify=frame[target], random_state=seed)
            results = peers(train, test, target, args.repeats)
            with tempfile.TemporaryDirectory() as scratch:
                results["fraud kind"] = ours(train, test, target, [], Path(scratch), args.repeats)
            for model, (seconds, scores) in results.items():
                per_model.setdefault(model, []).append({**quality(test[target].to_numpy(), scores), "seconds": seconds})
        for model, runs in per_model.items():
            lines.append(table_row(f"{name} (n_test={round(len(frame) * 0.2)})", model, runs, per_model[DEFAULT]))
        if name == args.endpoint_set and not args.skip_endpoint:
            train, test = train_test_split(frame, test_size=0.2, stratify=frame[target], random_state=0)
            with tempfile.TemporaryDirectory() as scratch:
                served = endpoint(train, test, target, [], Path(scratch), args.requests)
    if not args.skip_quality:
        print("\n".join(lines))
    if served is not None:
        print(
            f"\n{args.endpoint_set} detector through `flywheel up`, {args.requests} single-event requests on "
            f"{CONNECTIONS} connections: p50 {served['p50']:.1f} ms, p99 {served['p99']:.1f} ms, "
            f"{served['rps']:.0f} requests/s; server CPU per request {served['cpu_ms']:.2f} ms; "
            f"resident memory added by the served detector {served['rss_added']:.0f} MB"
        )


def table_row(dataset: str, model: str, runs: list[dict[str, float]], default: list[dict[str, float]]) -> str:
    def median(key: str) -> float:
        return statistics.median(run[key] for run in runs)

    def spread(values: list[float], unit: str) -> str:
        return f"{statistics.median(values):+.1f}{unit} ({min(values):+.1f} .. {max(values):+.1f})"

    pr_gain = [100 * (run["pr_auc"] / base["pr_auc"] - 1) for run, base in zip(runs, default, strict=True)]
    recall_gain = [
        100 * (run["recall_at_5pct_fpr"] - base["recall_at_5pct_fpr"]) for run, base in zip(runs, default, strict=True)
    ]
    versus = ("", "") if model == DEFAULT else (spread(pr_gain, "%"), spread(recall_gain, " pt"))
    return (
        f"| {dataset} | {model} | {median('pr_auc'):.4f} | {median('roc_auc'):.4f} | "
        f"{median('recall_at_1pct_fpr'):.3f} | {median('recall_at_5pct_fpr'):.3f} | {median('seconds'):.2f} | "
        f"{versus[0]} | {versus[1]} |"
    )


if __name__ == "__main__":
    main()
