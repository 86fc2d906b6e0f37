"""Benchmark ``aiflywheel.kernel.ingest`` against pandas on a large generated CSV.

Usage::

    python bench/ingest.py [--size-mb 1000] [--runs 3]

Generates a CSV of mixed columns (ints, floats, categories, dates, free text) in a temporary
directory, then converts it to Parquet with (a) ``ingest`` and (b) ``pandas.read_csv`` followed by
``DataFrame.to_parquet``, each in a fresh subprocess so that peak RSS is that tool's alone. Prints a
markdown table of rows, median wall seconds and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

CHUNK_ROWS = 500_000
TOOLS = {"ingest": "aiflywheel ingest", "pandas": "pandas read_csv + to_parquet"}
WORDS = np.array(
    ["the", "claim", "was", "filed", "after", "a", "minor", "collision", "near", "the", "depot", "and"]
    + ["driver", "reported", "damage", "to", "rear", "bumper", "while", "witness", "saw", "nothing"]
)

# Each child times only the conversion and reports its own peak RSS from VmHWM: ru_maxrss would
# include this parent's RSS, which Linux carries over into a forked child's high-water mark.
CHILD = """
import json, re, sys, time
from pathlib import Path
source, out, tool = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
start = time.perf_counter()
if tool == "ingest":
    from aiflywheel.kernel.ingest import ingest
    rows = ingest(source, out).row_count
else:
    import pandas as pd
    frame = pd.read_csv(source)
    frame.to_parquet(out / "data.parquet")
    rows = len(frame)
seconds = time.perf_counter() - start
peak = int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text())[1]) / 1024
print(json.dumps({"rows": rows, "seconds": seconds, "peak_mb": peak}))
"""


def generate(path: Path, size_mb: int, seed: int = 0) -> int:
    """Write a CSV of about ``size_mb`` megabytes; return its row count."""
    rng = np.random.default_rng(seed)
    categories = pa.array([f"category_{i:02d}" for i in range(40)])
    regions = pa.array(["north", "south", "east", "west", "central"])
    rows = 0
    with pa_csv.CSVWriter(path, _chunk(rng, 1, categories, regions).schema) as writer:
        while path.stat().st_size < size_mb * 1_000_000:
            writer.write_table(_chunk(rng, CHUNK_ROWS, categories, regions))
            rows += CHUNK_ROWS
    return rows


def _chunk(rng: np.random.Generator, n: int, categories: pa.Array, regions: pa.Array) -> pa.Table:
    words = [pa.array(WORDS[rng.integers(0, len(WORDS), n)]) for _ in range(6)]
    return pa.table(
        {
            "id": pa.array(rng.integers(0, 10**12, n)),
            "amount": pa.array(np.round(rng.lognormal(6, 1.5, n), 2)),
            "quantity": pa.array(rng.integers(1, 50, n)),
            "score": pa.array(rng.random(n)),
            "category": categories.take(pa.array(rng.integers(0, len(categories), n))),
            "region": regions.take(pa.array(rng.integers(0, len(regions), n))),
            "day": pa.array(rng.integers(15_000, 20_000, n).astype("datetime64[D]")),
            "note": pc.binary_join_element_wise(*words, " "),
        }
    )


def run_once(tool: str, source: Path, out: Path) -> dict:
    out.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(source), str(out), tool], check=True, capture_output=True, text=True
    )
    shutil.rmtree(out)
    return json.loads(done.stdout)


def warm(source: Path) -> None:
    """Flush the freshly written CSV and read it once, so no tool pays for the other's cold cache."""
    os.sync()
    with source.open("rb") as file:
        while file.read(1 << 24):
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1000, help="size of the generated CSV")
    parser.add_argument("--runs", type=int, default=3, help="runs per tool; the table shows the median")
    args = parser.parse_args()
    runs = args.runs
    with tempfile.TemporaryDirectory(prefix="flywheel-bench-") as tmp:
        scratch = Path(tmp)
        source = scratch / "mixed.csv"
        start = time.perf_counter()
        rows = generate(source, args.size_mb)
        size = source.stat().st_size / 1_000_000
        print(f"generated {source.name}: {size:.0f} MB, {rows:,} rows in {time.perf_counter() - start:.1f} s")
        print(f"median of {runs} run(s) each, every run in a fresh subprocess\n")
        warm(source)
        runs_by_tool: dict[str, list[dict]] = {tool: [] for tool in TOOLS}
        for run in range(runs):  # interleaved, so drift in the machine's load hits both tools
            for tool in TOOLS:
                runs_by_tool[tool].append(run_once(tool, source, scratch / f"{tool}-{run}"))
    results = {
        tool: {
            "rows": found[0]["rows"],
            "seconds": statistics.median(r["seconds"] for r in found),
            "peak_mb": max(r["peak_mb"] for r in found),
        }
        for tool, found in runs_by_tool.items()
    }
    base = results["pandas"]
    print("| tool | rows | seconds | peak RSS MB | time vs pandas | RSS vs pandas |")
    print("|---|---:|---:|---:|---:|---:|")
    for tool, label in TOOLS.items():
        r = results[tool]
        print(
            f"| {label} | {r['rows']:,} | {r['seconds']:.1f} | {r['peak_mb']:.0f} "
            f"| {r['seconds'] / base['seconds']:.2f}x | {r['peak_mb'] / base['peak_mb']:.2f}x |"
        )


if __name__ == "__main__":
    main()
