"""Datasets: named, versioned, immutable tables stored as Parquet artifacts.

Creating a dataset that exists adds a version; a version never changes. A version
becomes visible only after its Parquet file is safely in the artifact store and its
row is committed, so a failed upload leaves nothing behind.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import BaseModel
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from aiflywheel.backends.artifacts import ArtifactStore
from aiflywheel.backends.store.schema import dataset_versions, datasets
from aiflywheel.errors import Conflict, NotFound, PayloadTooLarge
from aiflywheel.kernel.clock import UtcDatetime, now
from aiflywheel.kernel.ingest import ingest
from aiflywheel.kernel.kinds import Column, TrainingData
from aiflywheel.kernel.names import check_name


class DatasetVersion(BaseModel):
    id: int
    dataset: str
    version: int
    artifact: str
    columns: list[dict[str, Any]]
    row_count: int
    preview: list[dict[str, Any]]
    source: dict[str, Any]
    parent_version_id: int | None
    created_at: UtcDatetime

    @property
    def ref(self) -> str:
        return f"{self.dataset}:{self.version}"


class Dataset(BaseModel):
    id: int
    name: str
    created_at: UtcDatetime
    latest: DatasetVersion | None


class Datasets:
    """The datasets of one project."""

    def __init__(self, engine: Engine, artifacts: ArtifactStore, project_id: int, scratch: Path):
        self.engine = engine
        self.artifacts = artifacts
        self.project_id = project_id
        self.scratch = scratch

    def create(
        self,
        name: str,
        source: Path,
        format: str | None = None,
        encoding: str = "utf-8",
        columns: list[str] | None = None,
        source_name: str | None = None,
        origin: dict[str, Any] | None = None,
        parent_version_id: int | None = None,
    ) -> DatasetVersion:
        """Ingest ``source`` (CSV, Parquet or JSONL) as the next version of dataset ``name``.

        A derived version (a feedback join, say) names where it came from in ``origin``
        (recorded as its ``source``) and the version it extends in ``parent_version_id``.

        Raises
        ------
        InvalidInput
            When the file cannot be read; the message names the file, row or column.
        """
        check_name(name, "dataset")
        self.scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.scratch, prefix="ingest-") as workdir:
            result = ingest(Path(source), Path(workdir), format=format, encoding=encoding, columns=columns)
            digest = self.artifacts.put_file(result.path)
        record = {
            "artifact": digest,
            "columns": [asdict(column) for column in result.columns],
            "row_count": result.row_count,
            "preview": result.preview,
            "source": origin
            or {
                "file": source_name or Path(source).name,
                "format": format or Path(source).suffix.lstrip("."),
            },
            "parent_version_id": parent_version_id,
        }
        return self._add_version(name, record)

    def upload(
        self,
        name: str,
        stream: BinaryIO,
        filename: str,
        format: str | None = None,
        encoding: str = "utf-8",
        columns: list[str] | None = None,
        max_bytes: int | None = None,
    ) -> DatasetVersion:
        """Ingest an uploaded byte stream (what a REST upload hands over) as the next version of ``name``.

        ``filename`` only names the upload and gives its format; nothing is written outside scratch.

        Raises
        ------
        InvalidInput
            As ``create`` does, or when the upload is larger than ``max_bytes``.
        """
        check_name(name, "dataset")
        safe_name = Path(filename or "").name or "upload"
        self.scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.scratch, prefix="upload-") as folder:
            path = Path(folder) / safe_name
            written = 0
            with open(path, "wb") as out:
                while chunk := stream.read(1 << 20):
                    written += len(chunk)
                    if max_bytes is not None and written > max_bytes:
                        raise PayloadTooLarge(f"upload {safe_name} is larger than the limit of {max_bytes} bytes")
                    out.write(chunk)
            return self.create(name, path, format=format, encoding=encoding, columns=columns, source_name=safe_name)

    def _add_version(self, name: str, record: dict[str, Any]) -> DatasetVersion:
        for _ in range(5):  # another writer may take the same version number; try the next one
            try:
                with self.engine.begin() as conn:
                    dataset_id = self._dataset_id(conn, name, create=True)
                    latest = conn.execute(
                        select(func.max(dataset_versions.c.version)).where(dataset_versions.c.dataset_id == dataset_id)
                    ).scalar()
                    version_id = conn.execute(
                        insert(dataset_versions).values(
                            dataset_id=dataset_id, version=(latest or 0) + 1, created_at=now(), **record
                        )
                    ).inserted_primary_key[0]
                return self.version_by_id(version_id)
            except IntegrityError:
                continue
        raise Conflict(f"dataset {name!r} is being written by others too often; try again")

    def _dataset_id(self, conn, name: str, create: bool = False) -> int:
        query = select(datasets.c.id).where(datasets.c.project_id == self.project_id, datasets.c.name == name)
        found = conn.execute(query).scalar()
        if found is not None:
            return found
        if not create:
            raise NotFound(f"no dataset named {name!r}")
        return conn.execute(
            insert(datasets).values(project_id=self.project_id, name=name, created_at=now())
        ).inserted_primary_key[0]

    def _versions_query(self):
        return (
            select(dataset_versions, datasets.c.name.label("dataset"))
            .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
            .where(datasets.c.project_id == self.project_id)
        )

    def list(self) -> list[Dataset]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(datasets).where(datasets.c.project_id == self.project_id).order_by(datasets.c.name)
            ).all()
        return [Dataset(id=r.id, name=r.name, created_at=r.created_at, latest=self._latest(r.name)) for r in rows]

    def get(self, name: str) -> Dataset:
        with self.engine.connect() as conn:
            dataset_id = self._dataset_id(conn, name)
            row = conn.execute(select(datasets).where(datasets.c.id == dataset_id)).one()
        return Dataset(id=row.id, name=row.name, created_at=row.created_at, latest=self._latest(name))

    def _latest(self, name: str) -> DatasetVersion | None:
        versions = self.versions(name)
        return versions[-1] if versions else None

    def versions(self, name: str) -> list[DatasetVersion]:
        query = self._versions_query().where(datasets.c.name == name).order_by(dataset_versions.c.version)
        with self.engine.connect() as conn:
            return [DatasetVersion.model_validate(dict(r)) for r in conn.execute(query).mappings()]

    def version(self, name: str, version: int | None = None) -> DatasetVersion:
        """Version ``version`` of dataset ``name``, or its latest version."""
        versions = self.versions(name)
        if not versions:
            self.get(name)  # raises NotFound for an unknown dataset
        if version is None:
            return versions[-1]
        for candidate in versions:
            if candidate.version == version:
                return candidate
        raise NotFound(
            f"dataset {name!r} has no version {version} (it has {versions[0].version}..{versions[-1].version})"
        )

    def version_by_id(self, version_id: int) -> DatasetVersion:
        with self.engine.connect() as conn:
            row = conn.execute(self._versions_query().where(dataset_versions.c.id == version_id)).mappings().first()
        if row is None:
            raise NotFound(f"no dataset version with id {version_id}")
        return DatasetVersion.model_validate(dict(row))

    def training_data(self, version: DatasetVersion) -> TrainingData:
        columns = tuple(Column(**column) for column in version.columns)
        return TrainingData(path=self.artifacts.local_path(version.artifact), columns=columns)
