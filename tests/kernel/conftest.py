"""A tiny dataset with a baseline model trained on it, for the serving-side kernel tests."""

import pytest

from aiflywheel.kernel.registry import ModelVersion
from aiflywheel.kernel.worker import execute


@pytest.fixture
def retrain(platform):
    """Train the next version of a baseline model on dataset ``tiny`` (milliseconds) and return it."""

    def next_version(model: str = "tiny", kind: str = "baseline") -> ModelVersion:
        job = platform.train(kind, "tiny", {"target": "y"}, model=model)
        execute(platform, platform.all_jobs().claim("me:1", job_id=job.id))
        return platform.models.get(model, platform.jobs.get(job.id).result["version"])

    return next_version


@pytest.fixture
def tiny_model(platform, tmp_path, retrain) -> ModelVersion:
    """Dataset ``tiny`` (30 rows, x → y, majority ``a``) and version 1 of model ``tiny``."""
    csv = tmp_path / "tiny.csv"
    csv.write_text("x,y\n" + "".join(f"{i},{'a' if i % 3 else 'b'}\n" for i in range(30)))
    platform.datasets.create("tiny", csv)
    return retrain()
