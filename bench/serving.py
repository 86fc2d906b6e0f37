"""Benchmark model serving: Flywheel's endpoint against a bare Starlette app and ``mlflow models serve``.

Usage::

    .venv/bin/python bench/serving.py [--quick] [--duration S] [--servers bare,mlflow,ours]

Needs ``wrk`` (Debian: ``apt-get install -y wrk``). Each server serves a LightGBM fraud model
trained on ``../shared/data/fraud/creditcard_ulb_sample_dev.csv`` (numeric V1..V28, Amount, Time;
label ``Class``) and is driven by wrk, one server at a time, at 1 and 32 rows per request and 1, 8
and 32 connections (10 s each, 3 s with ``--quick``), with real rows from the file as bodies
(a Lua script cycles through 16 of them and prints p50/p99 from wrk's ``done()`` hook).

- **bare**: ``serving_peers/bare_app.py``, Starlette under uvicorn (one worker, uvloop, httptools)
  calling ``Booster.predict`` directly: the ceiling for a Python server of this model.
- **mlflow**: ``mlflow models serve --env-manager local`` (its default: one uvicorn worker) on the
  same booster saved with ``mlflow.lightgbm.save_model``. MLflow lives in its own venv, created once
  outside the repo (``--peers-venv``, default ``/tmp/flywheel-bench/venv-peers``, ~860 MB).
- **ours**: ``flywheel up`` with the model deployed as an endpoint. Flywheel trains its own model
  on the same file with its own pipeline (defaults, early stopping), so its trees are not the bare
  and MLflow ones; bare and MLflow serve the very same ``model.txt`` (checked: equal predictions),
  trained here with plain LightGBM and the tabular kind's default parameters. The process tree of
  ``flywheel up`` also holds its job workers, which count in its RSS.

Prints one markdown table (``vs bare``: requests/s for 1 row, rows/s for 32 rows, against the bare
server at the same load) and each server's memory: VmRSS idle and after the run, and peak VmHWM,
summed over the server's process group. Every server is stopped on exit, error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

BENCH = Path(__file__).resolve().parent
DATA = BENCH.parents[1] / "shared" / "data" / "fraud" / "creditcard_ulb_sample_dev.csv"
TARGET = "Class"
MLFLOW = "mlflow==3.17.2"  # 3.18.0 is listed, but its mlflow-skinny==3.18.0 is not on the index here
ROWS, CONNECTIONS, BODIES = (1, 32), (1, 8, 32), 16
BIN = Path(sys.executable).parent

LUA = """
local bodies = {%(bodies)s}
local headers = {["Content-Type"] = "application/json"%(auth)s}
local prepared, i = {}, 0
function init(args)
  for k, body in ipairs(bodies) do prepared[k] = wrk.format("POST", "%(path)s", headers, body) end
end
function request()
  i = i %% #prepared + 1
  return prepared[i]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH {"requests": %%d, "us": %%d, "p50": %%d, "p99": %%d, "errors": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""

SAVE_MLFLOW = """
import sys, lightgbm as lgb, mlflow.lightgbm, pandas as pd
booster = lgb.Booster(model_file=sys.argv[1])
example = pd.read_json(sys.argv[3], orient="records")[booster.feature_name()]
mlflow.lightgbm.save_model(booster, sys.argv[2], input_example=example)
"""


@dataclass
class Server:
    """A running server: its process group, URL and how to write a body of rows."""

    name: str
    process: subprocess.Popen
    url: str
    body: Callable[[list[dict]], str]
    headers: dict[str, str] = field(default_factory=dict)
    memory: dict[str, float] = field(default_factory=dict)

    def post(self, rows: list[dict]) -> dict:
        headers = {"Content-Type": "application/json", **self.headers}
        request = urllib.request.Request(self.url, data=self.body(rows).encode(), headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def rss_mb(self) -> tuple[float, float]:
        """(VmRSS, VmHWM) in MB, summed over the server's process group (children included)."""
        rss = hwm = 0
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                if os.getpgid(int(status.parent.name)) != self.process.pid:
                    continue
                fields = dict(line.split(":", 1) for line in status.read_text().splitlines())
            except (OSError, ValueError):
                continue
            rss += int(fields.get("VmRSS", "0 kB").split()[0])
            hwm += int(fields.get("VmHWM", "0 kB").split()[0])
        return rss / 1024, hwm / 1024

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(*command, **kwargs) -> str:
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, **kwargs)
    if result.returncode:
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def launch(name, command, url, body, work: Path, probe: list[dict], env, headers=None) -> Server:
    """Start ``command`` in its own process group and wait until it answers ``probe`` (rows)."""
    log = work / f"{name}.log"
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    server = Server(name, process, url, body, headers or {})
    deadline = time.monotonic() + 180
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                server.post(probe)
                return server
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} not ready after 180 s: {exc}\n{log.read_text()[-3000:]}") from exc
                time.sleep(0.5)
    except BaseException:
        server.stop()
        raise


def train_reference(frame: pd.DataFrame, model_file: Path) -> int:
    """Plain LightGBM with the tabular kind's defaults (early stopping on 20%); returns the tree count."""
    x, y = frame.drop(columns=[TARGET]), frame[TARGET]
    valid = np.random.default_rng(0).random(len(frame)) < 0.2
    params = {"objective": "binary", "learning_rate": 0.05, "num_leaves": 31, "seed": 0, "verbose": -1}
    booster = lgb.train(
        params,
        lgb.Dataset(x[~valid], y[~valid]),
        num_boost_round=2000,
        valid_sets=[lgb.Dataset(x[valid], y[valid])],
        callbacks=[lgb.early_stopping(100, verbose=False)],
    )
    booster.save_model(str(model_file), num_iteration=booster.best_iteration)
    return booster.best_iteration


def peers_python(venv: Path) -> Path:
    """The peers venv's python, with MLflow installed on first use (timed)."""
    if not (venv / "bin" / "mlflow").exists():
        print(f"installing {MLFLOW} into {venv} (once) ...", file=sys.stderr)
        start = time.perf_counter()
        run(sys.executable, "-m", "venv", venv)
        run(venv / "bin" / "pip", "install", "-q", MLFLOW, f"lightgbm=={lgb.__version__}")
        print(f"installed in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return venv / "bin" / "python"


def start_bare(work: Path, model_file: Path, sample: list[dict]) -> Server:
    port = free_port()
    command = [BIN / "uvicorn", "--app-dir", BENCH / "serving_peers", "bare_app:app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", "1", "--loop", "uvloop", "--http", "httptools", "--no-access-log"]
    # One OpenMP thread: with LightGBM's default (every core) its spinning threads fight wrk and
    # uvicorn for the 2 cores; measured here, p99 at 8 connections 9 ms -> 3 ms, and +10% requests/s.
    env = {**os.environ, "BENCH_MODEL_FILE": str(model_file), "OMP_NUM_THREADS": "1"}
    return launch("bare", command, f"http://127.0.0.1:{port}/invocations", instances, work, sample[:2], env)


def start_mlflow(work: Path, model_file: Path, sample: list[dict], venv: Path) -> Server:
    python, model_dir = peers_python(venv), work / "mlflow-model"
    (work / "example.json").write_text(json.dumps(sample[:5]))
    run(python, "-c", SAVE_MLFLOW, model_file, model_dir, work / "example.json")
    port = free_port()
    columns = lgb.Booster(model_file=str(model_file)).feature_name()

    def split(rows: list[dict]) -> str:
        return json.dumps({"dataframe_split": {"columns": columns, "data": [[r[c] for c in columns] for r in rows]}})

    command = [venv / "bin" / "mlflow", "models", "serve", "-m", model_dir, "--env-manager", "local"]
    command += ["--host", "127.0.0.1", "-p", str(port)]
    env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"}
    return launch("mlflow", command, f"http://127.0.0.1:{port}/invocations", split, work, sample[:2], env)


def start_ours(work: Path, sample: list[dict], notes: list[str]) -> Server:
    """Dataset, training, deployment and ``flywheel up``, all in a fresh FLYWHEEL_HOME."""
    home = work / "flywheel-home"
    env = {**os.environ, "FLYWHEEL_HOME": str(home)}
    flywheel = [BIN / "flywheel", "--home", home]
    run(*flywheel, "datasets", "create", "fraud", DATA, env=env)
    run(*flywheel, "train", "tabular", "--dataset", "fraud", "--target", TARGET, "--model", "fraud", "--wait", env=env)
    run(*flywheel, "deploy", "fraud:1", "--endpoint", "fraud", env=env)
    key = re.findall(r"fw_\S+", run(*flywheel, "keys", "create", "--role", "writer", env=env))[-1]
    trees = json.loads(run(*flywheel, "models", "show", "fraud", "--json", env=env))["metrics"].get("best_iteration")
    notes.append(f"ours: its own model, trained by `flywheel train tabular` on the same file, {trees} trees")
    port = free_port()
    command = [*flywheel, "up", "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}/v1/endpoints/fraud/invocations"
    return launch("ours", command, url, instances, work, sample[:2], env, {"Authorization": f"Bearer {key}"})


def foreign_wrk() -> list[int]:
    """Pids of wrk processes this bench did not start: someone else loading the same 2 cores."""
    found = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "wrk" and os.getpgid(int(comm.parent.name)) != os.getpgrp():
                found.append(int(comm.parent.name))
        except OSError:
            continue
    return found


def instances(rows: list[dict]) -> str:
    return json.dumps({"instances": rows})


def load(server: Server, rows: list[dict], connections: int, seconds: float, work: Path) -> dict:
    """One wrk run; returns requests/s, rows/s, p50/p99 ms and the error count."""
    size = len(rows) // BODIES
    bodies = ",\n".join(f"[==[{server.body(rows[i * size : (i + 1) * size])}]==]" for i in range(BODIES))
    auth = "".join(f', ["{k}"] = "{v}"' for k, v in server.headers.items())
    url = server.url.split("/", 3)
    script = work / f"{server.name}.lua"
    script.write_text(LUA % {"bodies": bodies, "auth": auth, "path": "/" + url[3]})
    threads = str(min(2, connections))
    out = run(
        "wrk", "-t", threads, "-c", connections, "-d", f"{seconds}s", "--timeout", "30s", "-s", script, server.url
    )
    stats = json.loads(out.split("BENCH ", 1)[1].splitlines()[0])
    per_second = stats["requests"] / (stats["us"] / 1e6)
    return {
        "requests/s": per_second,
        "rows/s": per_second * size,
        "p50 ms": stats["p50"] / 1000,
        "p99 ms": stats["p99"] / 1000,
        "errors": stats["errors"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s per load level instead of 10")
    parser.add_argument("--duration", type=float, help="seconds per load level")
    parser.add_argument("--servers", default="bare,mlflow,ours", help="comma-separated subset, in run order")
    parser.add_argument("--peers-venv", type=Path, default=Path(tempfile.gettempdir()) / "flywheel-bench/venv-peers")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks that stop servers
    seconds = args.duration or (3 if args.quick else 10)
    wanted = args.servers.split(",")

    frame = pd.read_csv(DATA)
    features = frame.drop(columns=[TARGET])
    records = features.sample(n=BODIES * max(ROWS), random_state=0).to_dict(orient="records")
    results, servers, notes = {}, [], []
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        work = Path(tmp)
        model_file = work / "model.txt"
        trees = train_reference(frame, model_file)
        notes.append(f"bare and mlflow: one LightGBM model.txt, {trees} trees, {features.shape[1]} features")
        if "ours" in wanted and "deploy" not in run(BIN / "flywheel", "--help"):
            notes.append("ours: skipped, this flywheel has no `deploy` command yet")
            wanted.remove("ours")
        starters = {
            "bare": lambda: start_bare(work, model_file, records),
            "mlflow": lambda: start_mlflow(work, model_file, records, args.peers_venv),
            "ours": lambda: start_ours(work, records, notes),
        }
        predictions = {}
        for name in wanted:
            try:
                server = starters[name]()
            except (RuntimeError, OSError) as exc:  # e.g. MLflow not installable, an ours command changed
                lines = str(exc).strip().splitlines()  # the command, then the tail of its output
                notes.append(f"{name}: not available: {lines[0]} ... {' / '.join(lines[-3:])}")
                continue
            try:
                servers.append(server)
                predictions[name] = server.post(records[:32])["predictions"]
                server.memory["idle"] = server.rss_mb()[0]
                load(server, records[:BODIES], 8, 1, work)  # warm-up
                for n in ROWS:
                    for c in CONNECTIONS:
                        print(f"{name}: {n} row(s) x {c} connection(s) ...", file=sys.stderr)
                        if others := foreign_wrk():
                            notes.append(f"WARNING: other wrk processes {others} ran during {name} {n}x{c}: not clean")
                        results[name, n, c] = load(server, records[: n * BODIES], c, seconds, work)
                server.memory["after"], server.memory["peak"] = server.rss_mb()
            finally:
                server.stop()
    if "bare" in predictions and "mlflow" in predictions:
        same = np.allclose(predictions["bare"], predictions["mlflow"], rtol=0, atol=1e-12)
        notes.append(f"bare and mlflow predictions on 32 rows {'are equal' if same else 'DIFFER'}")
    print_table(results, servers, seconds, notes)


def print_table(results: dict, servers: list[Server], seconds: float, notes: list[str]) -> None:
    print(f"\n{seconds:g} s per load level, wrk -t min(2, connections), one server at a time, 2 cores shared.\n")
    print("| server | rows/request | connections | requests/s | rows/s | p50 ms | p99 ms | errors | vs bare |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (name, n, c), r in results.items():
        bare = results.get(("bare", n, c))
        key = "requests/s" if n == 1 else "rows/s"
        ratio = f"{r[key] / bare[key]:.2f}x" if bare else "—"
        print(
            f"| {name} | {n} | {c} | {r['requests/s']:,.0f} | {r['rows/s']:,.0f} | {r['p50 ms']:.2f} "
            f"| {r['p99 ms']:.2f} | {r['errors']} | {ratio} |"
        )
    print("\n| server | RSS idle MB | RSS after MB | peak RSS MB (VmHWM) |")
    print("|---|---:|---:|---:|")
    for s in servers:
        m = s.memory
        print(f"| {s.name} | {m.get('idle', 0):.0f} | {m.get('after', 0):.0f} | {m.get('peak', 0):.0f} |")
    print("\n" + "\n".join(f"- {note}" for note in notes))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted; every server started was stopped")
