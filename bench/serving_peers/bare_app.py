"""The "bare limit" server of ``bench/serving.py``: Starlette calling a LightGBM booster directly.

Run by the bench as ``uvicorn --app-dir bench/serving_peers bare_app:app --workers 1 --loop uvloop
--http httptools``, with ``BENCH_MODEL_FILE`` naming a LightGBM ``model.txt``. It accepts the same
body as Flywheel's endpoint, ``{"instances": [{feature: value, ...}, ...]}``, builds the feature
matrix in the booster's column order and answers ``{"predictions": [...]}``: no auth, no
validation beyond a 400 for a bad body, no logging, and the booster called on the event loop
(no thread pool), so nothing a real service needs slows it down.
"""

from __future__ import annotations

import json
import os

import lightgbm as lgb
import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def create_app(model_file: str) -> Starlette:
    booster = lgb.Booster(model_file=model_file)
    features = booster.feature_name()

    async def invocations(request: Request) -> Response:
        try:
            rows = json.loads(await request.body())["instances"]
            matrix = np.array([[row[name] for name in features] for row in rows], dtype=np.float64)
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"error": f"bad body: {exc!r}"}, status_code=400)
        return JSONResponse({"predictions": booster.predict(matrix).tolist()})

    return Starlette(routes=[Route("/invocations", invocations, methods=["POST"])])


app = create_app(os.environ["BENCH_MODEL_FILE"])
