"""Benchmark the web console: how long each page takes to render, beside the REST call for the same data.

Run: ``.venv/bin/python bench/console.py [requests-per-page]``

A fresh home with the demo dataset, a tabular model served at ``cancer`` and 2,000 logged
invocations (so the traffic charts aggregate real rows). Each page is fetched through the
real app in-process (Starlette's TestClient: routing, session check, kernel queries,
Jinja2) ``requests-per-page`` times; the median and p95 are reported, with the bytes sent,
next to the REST route a script would call for the same resource.
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from aiflywheel.interfaces.rest import create_app
from aiflywheel.kernel.demo import DEMO_DATASET, seed_demo
from aiflywheel.kernel.keys import Keys
from aiflywheel.kernel.platform import Platform
from aiflywheel.kernel.serving import Serving
from aiflywheel.kernel.worker import execute
from aiflywheel.settings import Settings

PAGES = [
    ("overview", "/", "/v1/endpoints"),
    ("datasets", "/datasets", "/v1/datasets"),
    ("dataset", f"/datasets/{DEMO_DATASET}", f"/v1/datasets/{DEMO_DATASET}"),
    ("training form", "/training?kind=tabular", None),
    ("model", f"/models/{DEMO_DATASET}", f"/v1/models/{DEMO_DATASET}/versions"),
    ("endpoint (charts, try it)", "/endpoints/cancer", "/v1/endpoints/cancer"),
    ("flywheel", "/flywheel/cancer", "/v1/endpoints/cancer/history"),
]


def timed(client: TestClient, path: str, headers: dict, count: int) -> tuple[float, float, int]:
    times, size = [], 0
    for _ in range(count):
        began = time.perf_counter()
        answer = client.get(path, headers=headers)
        times.append((time.perf_counter() - began) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
        size = len(answer.content)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], size


def main(count: int = 30) -> None:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        platform = Platform(Settings.build(home=home, executor="thread", workers=1, environ={}))
        seed_demo(platform)
        job = platform.train("tabular", DEMO_DATASET, {"target": "diagnosis", "max_rounds": 60})
        execute(platform, platform.all_jobs().claim("bench:1", job_id=job.id))
        platform.endpoints.deploy(DEMO_DATASET, "cancer")
        serving = Serving(
            platform.engine, platform.artifacts, platform.kinds, home / "cache", platform.prediction_log.start()
        )
        rows = [
            {k: v for k, v in r.items() if k != "diagnosis"} for r in platform.datasets.version(DEMO_DATASET).preview
        ]
        for index in range(2000):
            serving.invoke(platform.project_id, "cancer", [rows[index % len(rows)]]).result(timeout=30)
        platform.prediction_log.flush()
        platform.flywheel.set_policy("cancer", {})
        key = Keys(platform.engine).create("admin", "default")[0]
        client = TestClient(create_app(platform, serving))
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/sign-in").text).group(1)
        client.post("/sign-in", data={"key": key, "csrf_token": token}, follow_redirects=False)
        bearer = {"Authorization": f"Bearer {key}"}
        print(f"{count} requests per page, after 2,000 logged invocations; times in ms")
        print("| page | console median | console p95 | HTML bytes | REST route | REST median |")
        print("|---|---:|---:|---:|---|---:|")
        for name, page, rest in PAGES:
            median, p95, size = timed(client, page, {}, count)
            rest_median = f"{timed(client, rest, bearer, count)[0]:.1f}" if rest else "—"
            print(f"| {name} | {median:.1f} | {p95:.1f} | {size:,} | {rest or '—'} | {rest_median} |")
        serving.close()
        platform.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
