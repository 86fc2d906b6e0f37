"""Benchmark the ``forecaster`` kind on M3 and Tourism against statsforecast, in one run.

Usage::

    python bench/forecasting.py [--datasets m3,tourism] [--limit N] [--n-jobs J] [--memory]

Reads ``../shared/data/forecasting`` in place. For each competition and period type it
fits on ``split=train`` and forecasts the official horizon, then scores ``split=test``:

- ``AutoETS``: statsforecast's AutoETS alone;
- ``ETS+Theta+ARIMA``: the mean of statsforecast's AutoETS, AutoTheta and AutoARIMA;
- ``forecaster``: our kind with its default parameters (the season length and horizon
  of each period type are given, since the competitions have no calendar dates).

It prints one markdown table: sMAPE and MASE (means over series; MASE scaled by the
in-sample seasonal naive error), the share of actuals inside our P10–P90 interval, and
the seconds of fitting + forecasting. ``--limit`` takes the first N series of each
period type (for a quick look); ``--memory`` trains our kind on all of M3 in a child
process and prints its peak resident memory.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "forecasting"
SEASONS = {"YEARLY": 1, "QUARTERLY": 4, "MONTHLY": 12, "OTHER": 1}
QUANTILES = [0.1, 0.5, 0.9]


def load(name: str, limit: int | None) -> list[tuple[str, int, int, pd.DataFrame]]:
    """Per period type: (period, season, horizon, long frame of unique_id, split, t, y)."""
    prefix = {"m3": "m3", "tourism": "tourism"}[name]
    series = pd.read_csv(DATA / f"{prefix}_dev_series.csv")
    values = pd.read_csv(DATA / f"{prefix}_dev_values.csv")
    groups = []
    for period, members in series.groupby("period", sort=False):
        ids = members["unique_id"].tolist()[:limit] if limit else members["unique_id"].tolist()
        horizon = int(members["horizon"].iloc[0])
        groups.append((period, SEASONS[period], horizon, values[values["unique_id"].isin(ids)]))
    return groups


def scores(train: pd.DataFrame, test: pd.DataFrame, forecast: pd.DataFrame, season: int) -> dict[str, float]:
    """sMAPE (%) and MASE per series, averaged; forecast has unique_id, t, yhat."""
    merged = test.merge(forecast, on=["unique_id", "t"], how="left")
    smapes, mases = [], []
    histories = {uid: g["y"].to_numpy() for uid, g in train.groupby("unique_id")}
    for uid, group in merged.groupby("unique_id"):
        y, f = group["y"].to_numpy(), group["yhat"].to_numpy()
        smapes.append(100 * np.mean(2 * np.abs(f - y) / (np.abs(y) + np.abs(f))))
        history = histories[uid]
        lag = season if len(history) > season else 1
        scale = np.mean(np.abs(history[lag:] - history[:-lag]))
        mases.append(np.mean(np.abs(f - y)) / scale)
    return {"smape": float(np.mean(smapes)), "mase": float(np.mean(mases)), "n": len(smapes)}


def run_statsforecast(train: pd.DataFrame, season: int, horizon: int, n_jobs: int, combo: bool):
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

    models = [AutoETS(season_length=season)]
    if combo:
        models += [AutoTheta(season_length=season), AutoARIMA(season_length=season)]
    frame = train.rename(columns={"t": "ds"})[["unique_id", "ds", "y"]]
    start = time.perf_counter()
    out = StatsForecast(models=models, freq=1, n_jobs=n_jobs).forecast(df=frame, h=horizon)
    seconds = time.perf_counter() - start
    names = [repr(m) for m in models]
    out["yhat"] = out[names].mean(axis=1)
    return out.rename(columns={"ds": "t"})[["unique_id", "t", "yhat"]], seconds


def run_ours(train: pd.DataFrame, season: int, horizon: int, n_jobs: int, folder: Path):
    from aiflywheel.kernel.ingest import ingest
    from aiflywheel.kernel.kinds import TrainingData, parse_params
    from aiflywheel.kinds.forecaster import ForecasterKind

    table = pa.table(
        {"series_id": train["unique_id"].to_numpy(), "timestamp": train["t"].to_numpy(), "value": train["y"].to_numpy()}
    )
    pq.write_table(table, folder / "train.parquet")
    (folder / "ingest").mkdir(exist_ok=True)
    ingested = ingest(folder / "train.parquet", folder / "ingest")
    data = TrainingData(ingested.path, ingested.columns)
    kind = ForecasterKind()
    params = parse_params(kind, {"season_length": season, "horizon": horizon, "n_jobs": n_jobs})
    start = time.perf_counter()
    result = kind.train(data, params, _Quiet(), folder / "model")
    predictor = kind.load(folder / "model")
    ids = train["unique_id"].unique().tolist()
    outputs = predictor.predict([{"series_id": uid, "horizon": horizon, "quantiles": QUANTILES} for uid in ids])
    seconds = time.perf_counter() - start
    rows = []
    for uid, out in zip(ids, outputs, strict=True):
        for i, t in enumerate(out["timestamps"]):
            rows.append((uid, t, out["p50"][i], out["p10"][i], out["p90"][i]))
    frame = pd.DataFrame(rows, columns=["unique_id", "t", "yhat", "p10", "p90"])
    return frame, seconds, result


class _Quiet:
    def __call__(self, fraction: float, message: str = "") -> None:
        pass

    def log(self, message: str) -> None:
        pass


def bench(name: str, limit: int | None, n_jobs: int) -> list[dict]:
    rows = []
    totals: dict[str, dict] = {}
    for period, season, horizon, values in load(name, limit):
        train = values[values["split"] == "train"]
        test = values[values["split"] == "test"]
        with tempfile.TemporaryDirectory() as scratch:
            ours, seconds, _ = run_ours(train, season, horizon, n_jobs, Path(scratch))
        merged = test.merge(ours, on=["unique_id", "t"])
        inside = ((merged["y"] >= merged["p10"]) & (merged["y"] <= merged["p90"])).to_numpy()
        results = {"forecaster": (scores(train, test, ours, season), seconds, inside)}
        for method, combo in (("AutoETS", False), ("ETS+Theta+ARIMA", True)):
            forecast, seconds = run_statsforecast(train, season, horizon, n_jobs, combo)
            results[method] = (scores(train, test, forecast, season), seconds, None)
        print(
            f"{name} {period}: "
            + ", ".join(
                f"{m} sMAPE {r[0]['smape']:.2f} MASE {r[0]['mase']:.3f} in {r[1]:.0f} s" for m, r in results.items()
            )
            + f"; P10-P90 coverage {inside.mean():.3f} over {inside.size} points",
            file=sys.stderr,
            flush=True,
        )
        for method, (score, seconds, inside) in results.items():
            rows.append(
                {
                    "data": f"{name} {period.lower()}",
                    "method": method,
                    **score,
                    "seconds": seconds,
                    "coverage": None if inside is None else float(inside.mean()),
                }
            )
            total = totals.setdefault(method, {"smape": [], "mase": [], "n": 0, "seconds": 0.0, "inside": []})
            total["smape"].append(score["smape"] * score["n"])
            total["mase"].append(score["mase"] * score["n"])
            total["n"] += score["n"]
            total["seconds"] += seconds
            if inside is not None:
                total["inside"].extend(inside.tolist())
    for method, total in totals.items():
        rows.append(
            {
                "data": f"**{name} all**",
                "method": method,
                "n": total["n"],
                "smape": sum(total["smape"]) / total["n"],
                "mase": sum(total["mase"]) / total["n"],
                "seconds": total["seconds"],
                "coverage": float(np.mean(total["inside"])) if total["inside"] else None,
            }
        )
    return rows


MEMORY_CHILD = """
import sys, threading, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import forecasting
import tempfile
peak, done = [0], threading.Event()
def sample():  # the resident memory of this process and every process under it, at its highest
    while not done.wait(0.2):
        peak[0] = max(peak[0], forecasting.tree_rss_mb())
threading.Thread(target=sample, daemon=True).start()
with tempfile.TemporaryDirectory() as scratch:
    for period, season, horizon, values in forecasting.load("m3", None):
        sub = Path(scratch) / period
        sub.mkdir()
        forecasting.run_ours(values[values["split"] == "train"], season, horizon, int(sys.argv[2]), sub)
done.set()
print(peak[0])
"""


def tree_rss_mb(root: int | None = None) -> int:
    """Resident megabytes of a process and all its descendants now, read from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            rss[int(entry.name)] = int(fields[21]) * 4096  # field 24 of stat: resident pages
            parents[int(entry.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue  # a process that ended while being read
    tree, frontier = set(), [root or os.getpid()]
    while frontier:
        pid = frontier.pop()
        tree.add(pid)
        frontier.extend(child for child, parent in parents.items() if parent == pid and child not in tree)
    return sum(rss.get(pid, 0) for pid in tree) // 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="m3,tourism", help="comma-separated, or 'none' (with --memory)")
    parser.add_argument("--limit", type=int, default=None, help="series per period type (default: all)")
    parser.add_argument("--n-jobs", type=int, default=2, help="processes for every method (default 2)")
    parser.add_argument("--memory", action="store_true", help="also measure our peak memory on all of M3")
    args = parser.parse_args()
    names = [] if args.datasets == "none" else args.datasets.split(",")
    rows = []
    for name in names:
        rows += bench(name, args.limit, args.n_jobs)
    print("| data | method | series | sMAPE | MASE | P10–P90 coverage | seconds |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for row in rows:
        cover = "" if row["coverage"] is None else f"{100 * row['coverage']:.1f}%"
        print(
            f"| {row['data']} | {row['method']} | {row['n']} | {row['smape']:.2f} | {row['mase']:.3f} | {cover} | "
            f"{row['seconds']:.1f} |"
        )
    for name in names:
        by = {r["method"]: r for r in rows if r["data"] == f"**{name} all**"}
        ours, combo = by["forecaster"], by["ETS+Theta+ARIMA"]
        print(
            f"\n{name}: MASE ratio forecaster / ETS+Theta+ARIMA = {ours['mase'] / combo['mase']:.3f}; "
            f"time ratio = {ours['seconds'] / combo['seconds']:.2f}"
        )
    if args.memory:
        child = subprocess.run(
            [sys.executable, "-c", MEMORY_CHILD, str(Path(__file__).parent), str(args.n_jobs)],
            capture_output=True,
            text=True,
            check=True,
        )
        print(
            f"\npeak memory training all M3 series (our kind: the process and its pool workers together): "
            f"{child.stdout.strip().splitlines()[-1]} MB"
        )


if __name__ == "__main__":
    main()
