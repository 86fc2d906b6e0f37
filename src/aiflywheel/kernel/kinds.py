"""The kind protocol and the registry that finds kinds through entry points.

A kind is a small plug-in that knows how to train, load, predict, evaluate and
turn feedback into training rows. The kernel never names a kind: it looks them
up here by name, and every kind, ours included, is declared in the entry-point
group ``aiflywheel.kinds``::

    [project.entry-points."aiflywheel.kinds"]
    my-kind = "my_package.my_kind:MyKind"

The contract, checked for every registered kind by
``aiflywheel.testing.check_kind``:

- class attributes ``name``, ``description``, ``pretrained``, ``Params`` (a
  pydantic model whose defaults work), ``input_schema`` and ``output_schema``
  (JSON Schema of one prediction's input and output), ``primary_metric``;
- ``validate(params, columns)`` raises ``InvalidInput`` before any work when the
  dataset cannot be trained on with these params;
- ``train(data, params, progress, workdir)`` writes the model's files into
  ``workdir`` and returns a ``TrainResult`` with held-out metrics;
- ``load(workdir)`` returns a ``Predictor``, whose ``predict(batch)`` maps a list
  of inputs to a list of outputs (the endpoint layer micro-batches); a predictor
  that keeps state from what it serves (fraud's entity history) may also have
  ``replay(inputs)`` (``ReplayingPredictor``): when an endpoint loads it, it is given every input endpoints
  answered with its model version, oldest first, from the prediction log;
- ``evaluate(predictor, data, params)`` returns metrics on a labelled dataset;
- ``feedback_rows(params, records)`` turns logged predictions and their feedback
  into training rows;
- ``example()`` returns a tiny ``KindExample`` for the conformance suite.

A pretrained kind (``pretrained = True``) also declares ``services``, endpoint name →
params, the built-in endpoints the kernel installs and deploys at first start, and
implements ``install(params, workdir)``: with no dataset, it writes what ``load`` needs
(a manifest naming weights that ship in a package, a lexicon, ...) and returns a
``TrainResult`` (its metrics may be empty). Its ``train`` may adapt the model from a
dataset, or raise ``InvalidInput``.

A predictor may also offer two optional capabilities, found by ``isinstance``: a
``StreamingPredictor`` answers one instance in pieces as they are made (``Serving.stream``),
and a ``JobPredictor`` answers one instance too big for a request as a job that writes files
(``kernel/prediction_jobs.py``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ValidationError

from aiflywheel.errors import InvalidInput, KindNotFound

ENTRY_POINT_GROUP = "aiflywheel.kinds"


@dataclass(frozen=True)
class Metric:
    """A metric's name and which way is better."""

    name: str
    greater_is_better: bool = True


@dataclass(frozen=True)
class Column:
    """One column of a dataset version's schema."""

    name: str
    type: str  # the Arrow type, e.g. "int64", "string", "timestamp[s]"
    logical: str  # numeric | boolean | categorical | datetime | text | other
    nulls: int = 0


@dataclass(frozen=True)
class TrainingData:
    """A dataset version as a kind sees it: a local Parquet file and its schema."""

    path: Path
    columns: tuple[Column, ...]

    def read(self, columns: list[str] | None = None) -> pa.Table:
        return pq.read_table(self.path, columns=columns)

    def to_pandas(self, columns: list[str] | None = None):
        return self.read(columns).to_pandas()

    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]


@dataclass(frozen=True)
class TrainResult:
    """What ``train`` reports: held-out metrics (with baselines) and the primary metric it chose."""

    metrics: dict[str, Any]
    primary_metric: Metric
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FeedbackRecord:
    """A logged prediction joined with the feedback it received."""

    input: dict[str, Any]
    output: dict[str, Any]
    feedback: dict[str, Any]  # one of label | outcome | reward, plus event metadata


class Progress(Protocol):
    """How a kind reports progress; raises ``JobCancelled`` when the job was cancelled."""

    def __call__(self, fraction: float, message: str = "") -> None: ...

    def log(self, message: str) -> None: ...


class Predictor(Protocol):
    def predict(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]: ...


@runtime_checkable
class StreamingPredictor(Protocol):
    """A predictor whose answer to one instance can leave in pieces as it is made (speech, sentence by sentence).

    ``predict_stream(instance)`` checks the instance at once (raising ``InvalidInput`` before any byte is
    sent) and returns a description of the answer (its media type first of all) and an iterator of bytes.
    """

    def predict(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]: ...

    def predict_stream(self, instance: Any) -> tuple[dict[str, Any], Iterator[bytes]]: ...


@runtime_checkable
class JobPredictor(Protocol):
    """A predictor that also answers one instance too big for a request as a job (a book to read aloud,
    an hour of audio): the kernel queues it, the predictor writes its output files into ``folder``.

    ``check_job(instance, source)`` refuses a bad instance (``InvalidInput``) before it is queued;
    ``source`` is the uploaded file the instance refers to, if any. ``run_job`` reports progress and
    returns the prediction (JSON); every file it left in ``folder`` is kept and can be fetched.
    """

    def predict(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]: ...

    def check_job(self, instance: Any, source: Path | None) -> None: ...

    def run_job(self, instance: Any, source: Path | None, folder: Path, progress: Progress) -> dict[str, Any]: ...


@runtime_checkable
class ReplayingPredictor(Protocol):
    """A predictor that keeps state from what it serves (fraud's entity history): when an endpoint
    loads it, ``replay(inputs)`` is given every input endpoints answered with its model version,
    oldest first, from the prediction log, so the state survives a restart or an idle unload.
    """

    def predict(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]: ...

    def replay(self, inputs: Iterable[Any]) -> None: ...


@dataclass(frozen=True)
class KindExample:
    """Tiny data for the conformance suite: train on it, predict a batch, send feedback.

    A pretrained kind that cannot be trained leaves ``train`` as ``None``: the suite installs it instead.
    """

    train: pa.Table | None
    params: dict[str, Any]
    batch: list[dict[str, Any]]
    bad_batch: list[dict[str, Any]]
    bad_params: dict[str, Any]
    feedback: list[FeedbackRecord]


@runtime_checkable
class Kind(Protocol):
    name: ClassVar[str]
    description: ClassVar[str]
    pretrained: ClassVar[bool]
    Params: ClassVar[type[BaseModel]]
    input_schema: ClassVar[dict[str, Any]]
    output_schema: ClassVar[dict[str, Any]]
    primary_metric: ClassVar[Metric]

    def validate(self, params: BaseModel, columns: tuple[Column, ...]) -> None: ...

    def train(self, data: TrainingData, params: BaseModel, progress: Progress, workdir: Path) -> TrainResult: ...

    def load(self, workdir: Path) -> Predictor: ...

    def evaluate(self, predictor: Predictor, data: TrainingData, params: BaseModel) -> dict[str, Any]: ...

    def feedback_rows(self, params: BaseModel, records: Iterable[FeedbackRecord]) -> list[dict[str, Any]]: ...

    @classmethod
    def example(cls) -> KindExample: ...


@runtime_checkable
class PretrainedKind(Kind, Protocol):
    """A kind whose model ships pretrained: installed without a dataset, served as built-in endpoints."""

    services: ClassVar[dict[str, dict[str, Any]]]

    def install(self, params: BaseModel, workdir: Path) -> TrainResult: ...


def parse_params(kind: Kind, raw: Mapping[str, Any]) -> BaseModel:
    """Validate raw parameters against the kind's ``Params``; the error names field, expectation and value."""
    try:
        return kind.Params.model_validate(dict(raw))
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "params"
            value = f" (got {error['input']!r})" if "input" in error and not isinstance(error["input"], dict) else ""
            problems.append(f"{where}: {error['msg']}{value}")
        raise InvalidInput(f"invalid parameters for kind {kind.name!r}: " + "; ".join(problems)) from exc


class KindRegistry:
    """Kinds by name, loaded lazily from entry points; an instance is passed, never a global.

    A plug-in that fails to import is skipped with a warning naming it, so one broken
    package cannot take the platform down.
    """

    def __init__(self, factories: Mapping[str, Callable[[], Kind]] | None = None):
        self._factories: dict[str, Callable[[], Kind]] = dict(factories or {})
        self._instances: dict[str, Kind] = {}

    @classmethod
    def from_entry_points(cls) -> KindRegistry:
        registry = cls()
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            registry._factories[entry.name] = _lazy(entry)
        return registry

    def add(self, kind_class: Callable[[], Kind], name: str | None = None) -> None:
        self._factories[name or kind_class.name] = kind_class

    def names(self) -> list[str]:
        return sorted(self._factories)

    def get(self, name: str) -> Kind:
        if name in self._instances:
            return self._instances[name]
        factory = self._factories.get(name)
        if factory is None:
            known = ", ".join(self.names()) or "none"
            raise KindNotFound(f"no kind named {name!r}; known kinds: {known}")
        kind = factory()
        self._instances[name] = kind
        return kind

    def all(self) -> list[Kind]:
        kinds = []
        for name in self.names():
            try:
                kinds.append(self.get(name))
            except KindNotFound:
                continue
        return kinds


def _lazy(entry) -> Callable[[], Kind]:
    def load() -> Kind:
        try:
            kind_class = entry.load()
        except Exception as exc:  # a broken plug-in must not break the platform
            warnings.warn(f"kind plug-in {entry.name!r} ({entry.value}) failed to load: {exc}", stacklevel=2)
            raise KindNotFound(f"kind {entry.name!r} is installed but failed to load: {exc}") from exc
        return kind_class()

    return load
