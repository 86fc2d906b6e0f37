"""The kernel's front door: one object that holds the backends and the resources of a project.

Interfaces (CLI, REST, SDK) build a ``Platform`` from ``Settings`` and call it; kinds
never see it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from aiflywheel.backends.artifacts import ArtifactStore, open_artifact_store
from aiflywheel.backends.store import open_store
from aiflywheel.kernel.batch import submit_batch_prediction
from aiflywheel.kernel.datasets import Datasets
from aiflywheel.kernel.endpoints import Endpoints
from aiflywheel.kernel.face_collections import FaceCollections
from aiflywheel.kernel.flywheel import Flywheel
from aiflywheel.kernel.jobs import Job, JobQueue
from aiflywheel.kernel.kinds import KindRegistry, Predictor
from aiflywheel.kernel.model_files import load_predictor
from aiflywheel.kernel.prediction_jobs import Upload, job_file, submit_prediction_job
from aiflywheel.kernel.predictions import Feedback, PredictionLog
from aiflywheel.kernel.projects import DEFAULT_PROJECT, ensure_project
from aiflywheel.kernel.registry import ModelRegistry, ModelVersion
from aiflywheel.kernel.services import install_version, provision_services
from aiflywheel.kernel.traffic import Traffic
from aiflywheel.kernel.training import submit_training
from aiflywheel.settings import Settings


class Platform:
    """Datasets, jobs and models of one project, over the store and artifacts named in ``settings``.

    Examples
    --------
    >>> platform = Platform(Settings.build(home=tmp_path))  # doctest: +SKIP
    >>> platform.datasets.create("claims", Path("claims.csv"))  # doctest: +SKIP
    """

    def __init__(
        self,
        settings: Settings,
        kinds: KindRegistry | None = None,
        project: str = DEFAULT_PROJECT,
        engine: Engine | None = None,
        artifacts: ArtifactStore | None = None,
        project_id: int | None = None,
        prediction_log: PredictionLog | None = None,
    ):
        self.settings = settings
        self.engine = engine or open_store(settings.store_url)
        self.artifacts = artifacts or open_artifact_store(settings.artifacts_url)
        self.kinds = kinds or KindRegistry.from_entry_points()
        self.project_id = project_id or ensure_project(self.engine, project)
        self.datasets = Datasets(self.engine, self.artifacts, self.project_id, settings.home / "scratch")
        self.jobs = JobQueue(self.engine, self.project_id)
        self.models = ModelRegistry(self.engine, self.project_id)
        self.endpoints = Endpoints(self.engine, self.project_id, self.models)
        # One log per process, shared by every project: ``flywheel up`` starts its writer thread.
        self.prediction_log = prediction_log or PredictionLog(self.engine)
        self.feedback = Feedback(self.engine, self.project_id, self.prediction_log)
        self.flywheel = Flywheel(self)
        self.traffic = Traffic(self.engine, self.project_id)
        self.face_collections = FaceCollections(self.engine, self.project_id)
        self._predictors: dict[str, Predictor] = {}

    def close(self) -> None:
        """Write buffered predictions and release the store's connections."""
        self.prediction_log.close()
        self.engine.dispose()

    def in_project(self, project_id: int) -> Platform:
        """The same backends, scoped to another project (used by workers running its jobs)."""
        if project_id == self.project_id:
            return self
        return Platform(
            self.settings,
            self.kinds,
            engine=self.engine,
            artifacts=self.artifacts,
            project_id=project_id,
            prediction_log=self.prediction_log,
        )

    def all_jobs(self) -> JobQueue:
        """The queue across projects: what workers claim from and recover."""
        return JobQueue(self.engine, None)

    def train(self, kind: str, dataset: str, params: dict[str, Any], model: str | None = None) -> Job:
        return submit_training(self, kind, dataset, params, model=model)

    def install(
        self, kind: str, params: dict[str, Any], model: str | None = None, promote: bool = True
    ) -> ModelVersion:
        """Install a pretrained kind as the next version of ``model`` (champion unless ``promote`` is false)."""
        return install_version(self, kind, params, model=model, promote=promote)

    def provision_services(self) -> list[str]:
        """Deploy the pretrained kinds' built-in services this project has never had; return their endpoints."""
        return provision_services(self)

    def batch_predict(self, model: str, dataset: str, version: int | None = None, output: str | None = None) -> Job:
        return submit_batch_prediction(self, model, dataset, version=version, output=output)

    def prediction_job(self, version: ModelVersion, predictor: Predictor, instance: Any, source: Upload = None) -> Job:
        """Queue one big instance (and an uploaded file: its path and name) for ``version``; ``predictor`` checks it."""
        return submit_prediction_job(self, version, predictor, instance, source)

    def job_file(self, job_id: int, name: str) -> tuple[Path, str]:
        """An output file of a succeeded prediction job: its local path and media type."""
        return job_file(self, job_id, name)

    def predictor(self, version: ModelVersion) -> Predictor:
        """Load (once per process) the predictor of a model version."""
        if version.artifact not in self._predictors:
            self._predictors[version.artifact] = load_predictor(version, self.kinds, self.artifacts, self.model_cache)
        return self._predictors[version.artifact]

    @property
    def model_cache(self) -> Path:
        """Where model files are unpacked for loading."""
        return self.settings.home / "cache" / "models"
