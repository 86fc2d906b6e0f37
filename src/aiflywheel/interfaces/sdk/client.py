"""``Client``: the REST API from Python, returning the kernel's own models.

Each method sends one request and parses the answer into the model REST renders
(``Dataset``, ``Job``, ``ModelVersion``, ``Endpoint``, ``Invocation``...), so the SDK
and the API cannot drift. A failed request raises the ``FlywheelError`` subclass the
server raised (``NotFound``, ``Forbidden``...), and a server that cannot be reached
raises ``Unavailable``.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import version as _version
from typing import Any

import httpx
from pydantic import BaseModel

from aiflywheel.interfaces.sdk import errors
from aiflywheel.interfaces.sdk.resources import (
    DatasetsApi,
    EndpointsApi,
    FlywheelApi,
    JobsApi,
    KeysApi,
    ModelsApi,
    segment,
)
from aiflywheel.kernel.endpoints import Endpoint
from aiflywheel.kernel.jobs import Job
from aiflywheel.kernel.predictions import FeedbackRecord
from aiflywheel.kernel.serving import Invocation

DEFAULT_URL = "http://127.0.0.1:8080"


class Client:
    """A connection to a running Flywheel (``flywheel up``).

    Parameters
    ----------
    url:
        Where Flywheel answers.
    api_key:
        An API key (``fw_...``; create one with ``flywheel keys create``). Only ``/healthz``
        answers without one.
    timeout:
        Seconds to wait for the server to connect or answer (uploads wait for ingestion).
    http:
        An ``httpx.Client`` to send requests with, e.g. FastAPI's ``TestClient`` in tests;
        the caller keeps closing it.

    Examples
    --------
    >>> from aiflywheel import Client
    >>> with Client("http://127.0.0.1:8080", api_key="fw_...") as client:  # doctest: +SKIP
    ...     client.datasets.create("claims", "claims.csv")
    ...     job = client.train("tabular", "claims", {"target": "FraudFound_P"}, wait=True)
    ...     client.deploy("claims")
    ...     answer = client.predict("claims", [{"Make": "Honda", "Age": 31}])
    ...     client.feedback(answer.prediction_ids[0], "claim-123", label=0)
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        api_key: str | None = None,
        timeout: float = 30.0,
        http: httpx.Client | None = None,
    ):
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client()
        self.datasets = DatasetsApi(self)
        self.jobs = JobsApi(self)
        self.models = ModelsApi(self)
        self.endpoints = EndpointsApi(self)
        self.keys = KeysApi(self)
        self.flywheel = FlywheelApi(self)

    def __repr__(self) -> str:
        return f"Client(url={self.url!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the connections (only those of an ``httpx.Client`` this client created)."""
        if self._owns_http:
            self._http.close()

    # -- transport ----------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        files: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        wait_for_answer: bool = False,
    ) -> httpx.Response:
        """Send one request to ``path`` (e.g. ``/v1/datasets``); return the successful response.

        Raises
        ------
        FlywheelError
            The subclass named by the error body's ``code``, with the server's message.
        Unavailable
            When the server cannot be reached or does not answer within ``timeout``.
        """
        headers = {"User-Agent": f"aiflywheel/{_version('aiflywheel')}"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        timeout = httpx.Timeout(self.timeout, read=None if wait_for_answer else self.timeout)
        if params:
            params = {key: value for key, value in params.items() if value is not None}
        try:
            # build_request + send, not request(timeout=): FastAPI's TestClient warns on the latter.
            request = self._http.build_request(
                method,
                self.url + path,
                json=json,
                params=params,
                files=files,
                data=data,
                headers=headers,
                timeout=timeout,
            )
            response = self._http.send(request)
        except httpx.TransportError as exc:
            raise errors.unreachable(self.url, exc) from exc
        if response.is_error:
            raise errors.from_response(response)
        return response

    def get(self, path: str, model: type[BaseModel], **params: Any) -> Any:
        return model.model_validate(self.request("GET", path, params=params).json())

    def get_list(self, path: str, model: type[BaseModel], **params: Any) -> list[Any]:
        return [model.model_validate(item) for item in self.request("GET", path, params=params).json()]

    def post(self, path: str, model: type[BaseModel], json: Any = None) -> Any:
        return model.model_validate(self.request("POST", path, json=json).json())

    # -- the loop's verbs ---------------------------------------------------

    def health(self) -> dict[str, Any]:
        """The server's status and version (needs no key)."""
        return self.request("GET", "/healthz").json()

    def train(
        self,
        kind: str,
        dataset: str,
        params: dict[str, Any] | None = None,
        model: str | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> Job:
        """Queue a training job of ``kind`` on the latest version of ``dataset``.

        Parameters
        ----------
        params:
            The kind's parameters, e.g. ``{"target": "FraudFound_P"}``.
        model:
            The model to register under (default: the dataset's name).
        wait:
            Poll until the job has finished, and return it then (check its ``state``).
        timeout:
            With ``wait``: give up after this many seconds (``TimeoutError``).
        """
        body = {"type": "train", "kind": kind, "dataset": dataset, "params": params or {}, "model": model}
        job = self.post("/v1/jobs", Job, body)
        return self.jobs.wait(job.id, timeout) if wait else job

    def batch_predict(
        self,
        model: str,
        dataset: str,
        version: int | None = None,
        output: str | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> Job:
        """Queue predictions of ``model`` (its champion, or ``version``) for every row of ``dataset``.

        The output dataset (default ``DATASET-predictions``) holds each row with its
        ``prediction_id`` and ``predicted_*`` columns; the ids accept feedback.
        """
        body = {"type": "batch_predict", "model": model, "dataset": dataset, "version": version, "output": output}
        job = self.post("/v1/jobs", Job, body)
        return self.jobs.wait(job.id, timeout) if wait else job

    def deploy(
        self, model: str, endpoint: str | None = None, version: int | None = None, config: dict[str, Any] | None = None
    ) -> Endpoint:
        """Serve ``model``'s champion at ``endpoint`` (default: the model's name), created or updated.

        With ``version``, that version becomes the champion first; ``config`` sets
        ``EndpointConfig`` fields (``challenger_mode``, ``max_batch_size``...).
        """
        body = {"model": model, "name": endpoint, "version": version, "config": config or {}}
        return self.post("/v1/endpoints", Endpoint, body)

    def predict(self, endpoint: str, instances: Sequence[dict[str, Any]]) -> Invocation:
        """Predict ``instances`` (a list of objects) at ``endpoint``.

        Returns
        -------
        Invocation
            ``predictions`` (one per instance), their ``prediction_ids`` (for feedback)
            and the ``model_version`` that answered.
        """
        return self.post(f"/v1/endpoints/{segment(endpoint)}/invocations", Invocation, {"instances": list(instances)})

    def feedback(
        self, prediction_id: str, event_id: str, label: Any = None, outcome: Any = None, reward: float | None = None
    ) -> FeedbackRecord:
        """Send feedback on a prediction: exactly one of ``label``, ``outcome`` or ``reward``.

        Sending the same ``event_id`` again returns the first record with ``duplicate``
        true; reusing it for another prediction raises ``Conflict``.
        """
        body: dict[str, Any] = {"prediction_id": prediction_id, "event_id": event_id}
        body.update({k: v for k, v in (("label", label), ("outcome", outcome), ("reward", reward)) if v is not None})
        return self.post("/v1/feedback", FeedbackRecord, body)
