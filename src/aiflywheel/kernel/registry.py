"""The model registry: named models, their numbered versions, lineage and stage.

A model has at most one champion (what its endpoints serve) and one challenger
(what competes with it); promoting a version to either stage archives the version
that held it, so the history of what served when stays in the registry.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from aiflywheel.backends.store.schema import dataset_versions, datasets, model_versions, models
from aiflywheel.errors import Conflict, InvalidInput, NotFound
from aiflywheel.kernel.clock import UtcDatetime, now
from aiflywheel.kernel.kinds import Metric
from aiflywheel.kernel.names import check_name


class Stage(StrEnum):
    CANDIDATE = "candidate"
    CHALLENGER = "challenger"
    CHAMPION = "champion"
    ARCHIVED = "archived"


_EXCLUSIVE = (Stage.CHAMPION, Stage.CHALLENGER)


class ModelVersion(BaseModel):
    id: int
    model: str
    version: int
    kind: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    primary_metric: str
    greater_is_better: bool
    artifact: str
    dataset_version_id: int | None
    dataset: str | None  # lineage as "name:version"
    job_id: int | None
    parent_version_id: int | None
    stage: Stage
    created_at: UtcDatetime

    @property
    def ref(self) -> str:
        return f"{self.model}:{self.version}"


class ModelRegistry:
    """The models of one project."""

    def __init__(self, engine: Engine, project_id: int):
        self.engine = engine
        self.project_id = project_id

    def _query(self):
        dataset_ref = datasets.c.name + ":" + func.cast(dataset_versions.c.version, models.c.name.type)
        return (
            select(model_versions, models.c.name.label("model"), dataset_ref.label("dataset"))
            .join(models, models.c.id == model_versions.c.model_id)
            .outerjoin(dataset_versions, dataset_versions.c.id == model_versions.c.dataset_version_id)
            .outerjoin(datasets, datasets.c.id == dataset_versions.c.dataset_id)
            .where(models.c.project_id == self.project_id)
        )

    def register(
        self,
        model: str,
        kind: str,
        params: dict[str, Any],
        metrics: dict[str, Any],
        primary_metric: Metric,
        artifact: str,
        dataset_version_id: int | None = None,
        job_id: int | None = None,
        parent_version_id: int | None = None,
    ) -> ModelVersion:
        """Add the next version of ``model`` as a candidate."""
        check_name(model, "model")
        for _ in range(5):
            try:
                with self.engine.begin() as conn:
                    model_id = self._model_id(conn, model, kind)
                    latest = conn.execute(
                        select(func.max(model_versions.c.version)).where(model_versions.c.model_id == model_id)
                    ).scalar()
                    version_id = conn.execute(
                        insert(model_versions).values(
                            model_id=model_id,
                            version=(latest or 0) + 1,
                            kind=kind,
                            params=params,
                            metrics=metrics,
                            primary_metric=primary_metric.name,
                            greater_is_better=primary_metric.greater_is_better,
                            artifact=artifact,
                            dataset_version_id=dataset_version_id,
                            job_id=job_id,
                            parent_version_id=parent_version_id,
                            stage=Stage.CANDIDATE,
                            created_at=now(),
                        )
                    ).inserted_primary_key[0]
                return self.by_id(version_id)
            except IntegrityError:
                continue
        raise Conflict(f"model {model!r} is being written by others too often; try again")

    def _model_id(self, conn, name: str, kind: str) -> int:
        row = conn.execute(
            select(models.c.id, models.c.kind).where(models.c.project_id == self.project_id, models.c.name == name)
        ).first()
        if row is None:
            return conn.execute(
                insert(models).values(project_id=self.project_id, name=name, kind=kind, created_at=now())
            ).inserted_primary_key[0]
        if row.kind != kind:
            raise Conflict(
                f"model {name!r} is a {row.kind!r} model; it cannot take a {kind!r} version (choose another name)"
            )
        return row.id

    def list(self, model: str | None = None) -> list[ModelVersion]:
        query = self._query().order_by(models.c.name, model_versions.c.version)
        if model is not None:
            query = query.where(models.c.name == model)
        with self.engine.connect() as conn:
            found = [ModelVersion.model_validate(dict(r)) for r in conn.execute(query).mappings()]
        if model is not None and not found:
            raise NotFound(f"no model named {model!r}")
        return found

    def get(self, model: str, version: int | None = None) -> ModelVersion:
        """Version ``version`` of ``model``; without a version, its champion or else its latest."""
        versions = self.list(model)
        if version is None:
            champions = [v for v in versions if v.stage == Stage.CHAMPION]
            return champions[0] if champions else versions[-1]
        for candidate in versions:
            if candidate.version == version:
                return candidate
        raise NotFound(f"model {model!r} has no version {version}")

    def by_id(self, version_id: int) -> ModelVersion:
        with self.engine.connect() as conn:
            row = conn.execute(self._query().where(model_versions.c.id == version_id)).mappings().first()
        if row is None:
            raise NotFound(f"no model version with id {version_id}")
        return ModelVersion.model_validate(dict(row))

    def champion(self, model: str) -> ModelVersion | None:
        return self.holder(model, Stage.CHAMPION)

    def challenger(self, model: str) -> ModelVersion | None:
        return self.holder(model, Stage.CHALLENGER)

    def holder(self, model: str, stage: Stage) -> ModelVersion | None:
        """The version of ``model`` in an exclusive ``stage`` (champion or challenger), if any."""
        try:
            versions = self.list(model)
        except NotFound:
            return None
        return next((v for v in versions if v.stage == stage), None)

    def promote(self, model: str, version: int, stage: Stage | str = Stage.CHAMPION) -> ModelVersion:
        """Move a version to ``stage``; the previous holder of champion or challenger is archived."""
        try:
            stage = Stage(stage)
        except ValueError as exc:
            raise InvalidInput(f"stage {stage!r} is not one of {', '.join(s.value for s in Stage)}") from exc
        target = self.get(model, version)
        with self.engine.begin() as conn:
            self.set_stage(conn, target, stage)
        return self.by_id(target.id)

    def set_stage(self, conn: Connection, target: ModelVersion, stage: Stage) -> None:
        """``promote`` inside the caller's transaction, so a stage change commits with what caused it."""
        if stage in _EXCLUSIVE:
            conn.execute(
                update(model_versions)
                .where(
                    model_versions.c.model_id
                    == select(models.c.id)
                    .where(models.c.project_id == self.project_id, models.c.name == target.model)
                    .scalar_subquery(),
                    model_versions.c.stage == stage,
                    model_versions.c.id != target.id,
                )
                .values(stage=Stage.ARCHIVED)
            )
        conn.execute(update(model_versions).where(model_versions.c.id == target.id).values(stage=stage))

    def by_job(self, job_id: int) -> ModelVersion | None:
        """The version a job registered, if it got that far (a re-run job picks up where it stopped)."""
        with self.engine.connect() as conn:
            row = conn.execute(self._query().where(model_versions.c.job_id == job_id)).mappings().first()
        return ModelVersion.model_validate(dict(row)) if row else None

    def archive(self, model: str, version: int) -> ModelVersion:
        return self.promote(model, version, Stage.ARCHIVED)
