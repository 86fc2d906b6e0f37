from datetime import UTC, datetime

from sqlalchemy import select

from aiflywheel.backends.store.bulk import bulk_insert
from aiflywheel.backends.store.schema import invocations
from aiflywheel.kernel.kinds import Metric


def test_rows_read_back_as_sqlalchemy_wrote_them(platform):
    version = platform.models.register("m", "tabular", {}, {}, Metric("x"), "sha256:" + "a" * 64)
    moment = datetime(2026, 11, 24, 7, 30, 15, 123456, tzinfo=UTC)
    row = {
        "id": "pr_1",
        "project_id": platform.project_id,
        "endpoint_id": None,
        "model_version_id": version.id,
        "count": 1,
        "inputs": [{"a": 1.5, "b": "x", "c": None, "nested": [1, {"d": True}]}],
        "outputs": [{"label": "yes", "probabilities": {"no": 0.25, "yes": 0.75}}],
        "latency_ms": 1.25,
        "shadow": True,
        "created_at": moment,
    }
    with platform.engine.begin() as conn:
        bulk_insert(conn, invocations, [row, {**row, "id": "pr_2", "shadow": False}])
    with platform.engine.connect() as conn:
        stored = conn.execute(select(invocations).order_by(invocations.c.id)).mappings().all()
    first = dict(stored[0])
    assert first["inputs"] == row["inputs"] and first["outputs"] == row["outputs"]
    assert first["shadow"] is True and stored[1]["shadow"] is False
    assert first["created_at"].replace(tzinfo=first["created_at"].tzinfo or UTC) == moment
