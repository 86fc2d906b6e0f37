"""Helpers for kind tests: a progress recorder and a table turned into a kind's ``TrainingData``."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aiflywheel.kernel.ingest import ingest
from aiflywheel.kernel.kinds import TrainingData


class Progress:
    def __init__(self) -> None:
        self.fractions: list[float] = []

    def __call__(self, fraction: float, message: str = "") -> None:
        assert 0.0 <= fraction <= 1.0
        self.fractions.append(fraction)

    def log(self, message: str) -> None:
        pass


@pytest.fixture
def progress() -> Progress:
    return Progress()


@pytest.fixture
def training_data():
    """``training_data(table, folder)``: the table ingested as a dataset version, as ``train`` receives it."""

    def ingested(table: pa.Table, folder: Path) -> TrainingData:
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, folder / "upload.parquet")
        (folder / "ingest").mkdir()
        done = ingest(folder / "upload.parquet", folder / "ingest")
        return TrainingData(done.path, done.columns)

    return ingested
