"""Serving: endpoint invocations routed, micro-batched, logged, and models loaded only while used.

``Serving`` is the runtime behind every endpoint of every project in one process:

- routing: the champion answers; in ``split`` mode a share of requests goes to the
  challenger; in ``shadow`` mode the challenger also predicts every request, logged
  but never returned;
- micro-batching: concurrent requests for one model version are merged into one
  ``predictor.predict`` call of at most ``max_batch_size`` rows, waiting at most
  ``max_wait_ms`` for company (a ``Batcher`` thread per loaded version);
- memory: a version is loaded on first use and unloaded after ``idle_unload_seconds``.

It is synchronous and thread-based, so any interface can use it: REST awaits the
returned ``concurrent.futures.Future``.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import queue
import random
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from aiflywheel.errors import FlywheelError, InvalidInput, KindFailed
from aiflywheel.kernel.clock import now
from aiflywheel.kernel.endpoints import EndpointConfig, Endpoints, Route
from aiflywheel.kernel.kinds import KindRegistry, Predictor, ReplayingPredictor, StreamingPredictor
from aiflywheel.kernel.model_files import load_predictor
from aiflywheel.kernel.predictions import PredictionLog, new_invocation_id, prediction_ids
from aiflywheel.kernel.registry import ModelRegistry, ModelVersion

logger = logging.getLogger(__name__)

MAX_FAILURES_KEPT = 10_000


class Invocation(BaseModel):
    predictions: list[Any]
    prediction_ids: list[str]
    model_version: str


INLINE_SECONDS = 0.002


@dataclass(frozen=True)
class Streamed:
    """A streamed answer: what it is (``described``), its bytes as they are made, and its prediction id."""

    described: dict[str, Any]
    pieces: Iterator[bytes]
    prediction_id: str
    model_version: str


@dataclass
class _Request:
    rows: list[Any]
    future: Future | asyncio.Future = field(default_factory=Future)


class Batcher:
    """Merges concurrent requests for one predictor into batched ``predict`` calls on its own thread."""

    def __init__(self, predictor: Predictor, name: str, max_batch_size: int, max_wait_ms: float):
        self.predictor = predictor
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait_ms / 1000.0
        self.recent_seconds = 0.0  # moving average of predict calls: decides where the next one runs
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"batcher-{name}", daemon=True)
        self._thread.start()
        self._on_loop: dict[asyncio.AbstractEventLoop, list[_Request]] = {}  # each loop drains only its own

    def submit(self, rows: list[Any], loop: asyncio.AbstractEventLoop | None = None) -> Future | asyncio.Future:
        """Queue ``rows``; with the caller's event ``loop``, a fast model predicts on that loop.

        A predictor that answers in under ``INLINE_SECONDS`` costs less than handing the
        request to the batcher thread and back; requests that arrive in the same loop
        iteration are still merged into one call. Slower predictors keep their thread,
        so they never stall the loop.
        """
        if loop is not None and self.max_wait == 0 and self.recent_seconds < INLINE_SECONDS:
            request = _Request(rows, loop.create_future())
            pending = self._on_loop.get(loop)
            if pending is None:
                pending = self._on_loop[loop] = []
                loop.call_soon(self._drain_on_loop, loop)
            pending.append(request)
            return request.future
        request = _Request(rows)
        self._queue.put(request)
        return request.future

    def _drain_on_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        pending = self._on_loop[loop]
        batch, size = [], 0
        while pending and (not batch or size + len(pending[0].rows) <= self.max_batch_size):
            request = pending.pop(0)
            batch.append(request)
            size += len(request.rows)
        if pending:
            loop.call_soon(self._drain_on_loop, loop)
        else:
            del self._on_loop[loop]
        self._predict(batch)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, size = [first], len(first.rows)
            deadline = time.monotonic() + self.max_wait
            stop = False
            while size < self.max_batch_size:
                try:
                    more = (
                        self._queue.get_nowait()
                        if self.max_wait == 0
                        else self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                    )
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
                size += len(more.rows)
            self._predict(batch)
            if stop:
                return

    def _predict(self, batch: list[_Request]) -> None:
        rows = [row for request in batch for row in request.rows]
        started = time.perf_counter()
        try:
            outputs = self.predictor.predict(rows)
        except InvalidInput as exc:
            if len(batch) == 1:
                batch[0].future.set_exception(exc)
                return
            for request in batch:  # one bad request must not fail the others batched with it
                self._predict([request])
            return
        except Exception as exc:
            error = _translate(exc)
            for request in batch:
                request.future.set_exception(error)
            return
        finally:
            self.recent_seconds = 0.8 * self.recent_seconds + 0.2 * (time.perf_counter() - started)
        start = 0
        for request in batch:
            request.future.set_result(outputs[start : start + len(request.rows)])
            start += len(request.rows)


def _settle(future, loop, result=None, error=None) -> None:
    """Resolve ``future``; an asyncio future only from its own loop's thread."""
    if loop is not None:
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if not on_loop:
            loop.call_soon_threadsafe(_settle, future, None, result, error)
            return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _translate(error: Exception) -> FlywheelError:
    if isinstance(error, FlywheelError):
        return error
    logger.error("a predictor failed", exc_info=error)
    return KindFailed(f"the model failed to predict: {type(error).__name__}: {error}")


@dataclass
class _Loaded:
    version: ModelVersion
    batcher: Batcher
    idle_unload_seconds: float
    last_used: float = field(default_factory=time.monotonic)


class Serving:
    """Invocations for every endpoint of every project served by this process."""

    def __init__(
        self,
        engine,
        artifacts,
        kinds: KindRegistry,
        cache_dir,
        log: PredictionLog,
        route_seconds: float = 1.0,
    ):
        self.engine = engine
        self.artifacts = artifacts
        self.kinds = kinds
        self.cache_dir = cache_dir
        self.log = log
        self.route_seconds = route_seconds
        self._routes: dict[tuple[int, str], tuple[float, Route]] = {}
        self._loaded: dict[int, _Loaded] = {}
        self._load_lock = threading.Lock()
        self._random = random.Random()
        # When each endpoint's model last failed a request (kept in memory: the prediction log holds successes).
        self._failures: dict[tuple[int, int], deque] = {}

    def route(self, project_id: int, endpoint: str) -> Route:
        """The endpoint's current route, re-read from the store at most every ``route_seconds``."""
        cached = self._routes.get((project_id, endpoint))
        if cached is not None and time.monotonic() - cached[0] < self.route_seconds:
            return cached[1]
        route = Endpoints(self.engine, project_id, ModelRegistry(self.engine, project_id)).route(endpoint)
        self._routes[(project_id, endpoint)] = (time.monotonic(), route)
        return route

    def ready(self, project_id: int, endpoint: str) -> bool:
        """Whether ``invoke`` can answer without touching the store or loading a model."""
        cached = self._routes.get((project_id, endpoint))
        if cached is None or time.monotonic() - cached[0] >= self.route_seconds:
            return False
        route = cached[1]
        return route.champion.id in self._loaded and (
            route.challenger is None
            or route.challenger.id in self._loaded
            or route.endpoint.config.challenger_mode == "off"
        )

    def prepare(self, project_id: int, endpoint: str) -> None:
        """Look the route up and load its models now (``invoke`` would do it on the caller's thread)."""
        route = self.route(project_id, endpoint)
        self._loaded_version(route.champion, route.endpoint.config)
        if route.challenger is not None and route.endpoint.config.challenger_mode != "off":
            self._loaded_version(route.challenger, route.endpoint.config)

    def champion(self, project_id: int, endpoint: str) -> tuple[ModelVersion, Predictor]:
        """The endpoint's champion version and its loaded predictor (loaded now if it is not yet), to describe it."""
        route = self.route(project_id, endpoint)
        loaded = self._loaded_version(route.champion, route.endpoint.config)
        return loaded.version, loaded.batcher.predictor

    def failures(self, project_id: int, endpoint_id: int) -> list:
        """When the endpoint's model failed a request in this process (the latest ``MAX_FAILURES_KEPT``)."""
        return list(self._failures.get((project_id, endpoint_id), ()))

    def forget_routes(self) -> None:
        """Re-read every route on next use (after a deploy or promotion in this process)."""
        self._routes.clear()

    def invoke(
        self, project_id: int, endpoint: str, instances: list[Any], loop: asyncio.AbstractEventLoop | None = None
    ) -> Future | asyncio.Future:
        """Predict ``instances`` at ``endpoint``; the future resolves to an ``Invocation``.

        Called from an event ``loop`` (REST), it returns an ``asyncio.Future`` of that loop.
        """
        route = self.route(project_id, endpoint)
        config = route.endpoint.config
        if not isinstance(instances, list) or not instances:
            raise InvalidInput("instances must be a non-empty list")
        if len(instances) > config.max_instances:
            raise InvalidInput(
                f"{len(instances)} instances in one request; endpoint {endpoint!r} takes at most {config.max_instances}"
            )
        version = route.champion
        if config.challenger_mode == "split" and route.challenger and self._random.random() < config.challenger_share:
            version = route.challenger
        started = time.perf_counter()
        answer = loop.create_future() if loop is not None else Future()
        inner = self._loaded_version(version, config).batcher.submit(instances, loop)

        def finish(done: Future | asyncio.Future) -> None:
            error = done.exception()
            if error is not None:
                self._failures.setdefault((project_id, route.endpoint.id), deque(maxlen=MAX_FAILURES_KEPT)).append(
                    now()
                )
                _settle(answer, loop, error=error)
                return
            outputs = done.result()
            latency_ms = (time.perf_counter() - started) * 1000.0
            ids = self._log(project_id, route, version, instances, outputs, latency_ms, shadow=False)
            _settle(answer, loop, Invocation(predictions=outputs, prediction_ids=ids, model_version=version.ref))

        inner.add_done_callback(finish)
        if config.challenger_mode == "shadow" and route.challenger is not None:
            self._shadow(project_id, route, instances)
        return answer

    def stream(self, project_id: int, endpoint: str, instance: Any) -> Streamed:
        """Answer one instance in pieces with the champion (a ``StreamingPredictor``), logged when the last piece left.

        The instance is checked before this returns, so a bad one is an ``InvalidInput`` and not a cut stream.
        """
        route = self.route(project_id, endpoint)
        version, predictor = self.champion(project_id, endpoint)
        if not isinstance(predictor, StreamingPredictor):
            raise InvalidInput(f"endpoint {endpoint!r} ({version.kind}) does not stream its answers; use /invocations")
        started = time.perf_counter()
        try:
            described, pieces = predictor.predict_stream(instance)
        except Exception as error:
            raise _translate(error) from error
        invocation_id = new_invocation_id()

        def logged() -> Iterator[bytes]:
            sent = 0
            for piece in pieces:
                sent += len(piece)
                yield piece
            latency_ms = (time.perf_counter() - started) * 1000.0
            output = {**described, "streamed_bytes": sent}
            self._log(project_id, route, version, [instance], [output], latency_ms, False, invocation_id)

        return Streamed(described, logged(), prediction_ids(invocation_id, 1)[0], version.ref)

    def _shadow(self, project_id: int, route: Route, instances: list[Any]) -> None:
        started = time.perf_counter()
        try:
            future = self._loaded_version(route.challenger, route.endpoint.config).batcher.submit(instances)
        except FlywheelError:
            logger.exception("shadow model %s could not be loaded", route.challenger.ref)
            return

        def done(result: Future) -> None:
            if result.exception() is None:
                latency_ms = (time.perf_counter() - started) * 1000.0
                self._log(project_id, route, route.challenger, instances, result.result(), latency_ms, shadow=True)

        future.add_done_callback(done)

    def _log(self, project_id, route, version, instances, outputs, latency_ms, shadow, invocation_id=None) -> list[str]:
        invocation_id = invocation_id or new_invocation_id()
        self.log.record(
            {
                "id": invocation_id,
                "project_id": project_id,
                "endpoint_id": route.endpoint.id,
                "model_version_id": version.id,
                "count": len(instances),
                "inputs": instances,
                "outputs": outputs,
                "latency_ms": latency_ms,
                "shadow": shadow,
                "created_at": now(),
            }
        )
        return prediction_ids(invocation_id, len(instances))

    def _loaded_version(self, version: ModelVersion, config: EndpointConfig) -> _Loaded:
        loaded = self._loaded.get(version.id)
        if loaded is None:
            with self._load_lock:
                loaded = self._loaded.get(version.id)
                if loaded is None:
                    predictor = load_predictor(version, self.kinds, self.artifacts, self.cache_dir)
                    if isinstance(predictor, ReplayingPredictor):
                        predictor.replay(self.log.served_inputs(version.id))
                    batcher = Batcher(predictor, version.ref, config.max_batch_size, config.max_wait_ms)
                    loaded = _Loaded(version, batcher, config.idle_unload_seconds)
                    self._loaded[version.id] = loaded
                    # A model and its libraries are long-lived: keep the collector from rescanning them
                    # on every full collection (tens of milliseconds of pause, paid by some request).
                    gc.freeze()
                    logger.info("loaded model %s", version.ref)
        loaded.last_used = time.monotonic()
        loaded.idle_unload_seconds = config.idle_unload_seconds
        loaded.batcher.max_batch_size = config.max_batch_size  # a reconfigured endpoint applies at once
        loaded.batcher.max_wait = config.max_wait_ms / 1000.0
        return loaded

    def loaded(self) -> list[str]:
        return sorted(loaded.version.ref for loaded in self._loaded.values())

    def unload_idle(self) -> list[str]:
        """Unload versions idle for longer than their endpoint's ``idle_unload_seconds``."""
        moment = time.monotonic()
        unloaded = []
        with self._load_lock:
            for version_id, loaded in list(self._loaded.items()):
                idle = loaded.idle_unload_seconds
                if idle and moment - loaded.last_used > idle:
                    del self._loaded[version_id]
                    loaded.batcher.close()
                    unloaded.append(loaded.version.ref)
        if unloaded:
            # Frozen objects are never collected: thaw, so the unloaded models' cycles can go, then freeze again.
            gc.unfreeze()
            gc.collect()
            gc.freeze()
        return unloaded

    def close(self) -> None:
        with self._load_lock:
            for loaded in self._loaded.values():
                loaded.batcher.close()
            self._loaded.clear()
        self.log.close()
