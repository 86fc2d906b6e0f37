"""Batch prediction jobs: a dataset in, a dataset out with each row's prediction and its id.

Every row's prediction is logged like an endpoint's, so feedback can answer it later.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.clock import now
from aiflywheel.kernel.jobs import Job
from aiflywheel.kernel.kinds import Progress
from aiflywheel.kernel.names import check_name
from aiflywheel.kernel.predictions import new_invocation_id, prediction_ids

if TYPE_CHECKING:
    from aiflywheel.kernel.platform import Platform

JOB_TYPE = "batch_predict"
BATCH_ROWS = 2_000
_SCALARS = (str, int, float, bool, type(None))


def submit_batch_prediction(
    platform: Platform, model: str, dataset: str, version: int | None = None, output: str | None = None
) -> Job:
    """Queue predictions of ``model`` (its champion, or ``version``) for every row of ``dataset``."""
    model_version = platform.models.get(model, version)
    data = platform.datasets.version(dataset)
    output = check_name(output or f"{data.dataset}-predictions", "dataset")
    if output == data.dataset:
        raise InvalidInput("the output dataset must not be the input dataset; choose another --output name")
    spec = {
        "model": model_version.ref,
        "model_version_id": model_version.id,
        "dataset": data.dataset,
        "dataset_version_id": data.id,
        "output": output,
    }
    job = platform.jobs.submit(JOB_TYPE, spec)
    platform.jobs.log(job.id, f"predict {data.ref} ({data.row_count} rows) with {model_version.ref} into {output}")
    return job


def run_batch_prediction(platform: Platform, job: Job, progress: Progress) -> dict[str, Any]:
    spec = job.spec
    model_version = platform.models.by_id(spec["model_version_id"])
    data = platform.datasets.version_by_id(spec["dataset_version_id"])
    predictor = platform.predictor(model_version)
    source = pq.ParquetFile(platform.datasets.training_data(data).path)
    total = max(source.metadata.num_rows, 1)
    scratch = platform.settings.home / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    done = 0
    with tempfile.TemporaryDirectory(dir=scratch, prefix=f"batch-{job.id}-") as folder:
        path = Path(folder) / "predictions.parquet"
        writer = None
        try:
            for batch in source.iter_batches(batch_size=BATCH_ROWS):
                rows = batch.to_pylist()
                outputs = predictor.predict(rows)
                ids = log_job_predictions(platform, model_version.id, rows, outputs)
                table = _with_predictions(pa.Table.from_batches([batch]), ids, outputs)
                writer = writer or pq.ParquetWriter(path, table.schema)
                writer.write_table(table.cast(writer.schema))
                done += len(rows)
                progress(done / total, f"{done} of {total} rows")
        finally:
            if writer is not None:
                writer.close()
            platform.prediction_log.flush()
        if writer is None:
            raise InvalidInput(f"dataset {data.ref} has no rows to predict")
        created = platform.datasets.create(
            spec["output"], path, format="parquet", source_name=f"predictions of {model_version.ref} for {data.ref}"
        )
    progress.log(f"wrote dataset {created.ref} ({created.row_count} rows)")
    return {"dataset": created.dataset, "version": created.version, "rows": created.row_count}


def log_job_predictions(platform: Platform, version_id: int, rows: list[dict], outputs: list[dict]) -> list[str]:
    """Log predictions a job made (no endpoint) like an endpoint's, so feedback can answer them; their ids."""
    invocation_id = new_invocation_id()
    platform.prediction_log.record(
        {
            "id": invocation_id,
            "project_id": platform.project_id,
            "endpoint_id": None,
            "model_version_id": version_id,
            "count": len(rows),
            "inputs": rows,
            "outputs": outputs,
            "latency_ms": 0.0,
            "shadow": False,
            "created_at": now(),
        }
    )
    return prediction_ids(invocation_id, len(rows))


def _with_predictions(table: pa.Table, ids: list[str], outputs: list[dict]) -> pa.Table:
    """The input columns, ``prediction_id``, each scalar output field as ``predicted_<field>``, and the full output."""
    table = table.append_column("prediction_id", pa.array(ids, pa.string()))
    scalar_fields = [key for key, value in outputs[0].items() if isinstance(value, _SCALARS)] if outputs else []
    for key in scalar_fields:
        values = [output.get(key) for output in outputs]
        column = pa.array([None if v is None else str(v) for v in values], pa.string())
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values if v is not None):
            column = pa.array(values, pa.float64())
        table = table.append_column(f"predicted_{key}", column)
    return table.append_column("prediction", pa.array([json.dumps(o, default=str) for o in outputs], pa.string()))
