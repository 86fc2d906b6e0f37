"""The feedback join: logged predictions of an endpoint paired with the feedback they received.

A prediction may be answered more than once (a label corrected later): the latest
feedback wins, so each prediction yields one record. Feedback arriving days after
its prediction joins like any other — the log keeps every prediction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, func, select

from aiflywheel.backends.store.schema import feedback, invocations
from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.kinds import FeedbackRecord

_CHUNK = 500


@dataclass(frozen=True)
class LabelledPrediction:
    feedback_id: int
    prediction_id: str
    model_version_id: int
    predicted_at: datetime
    record: FeedbackRecord


def _scope(project_id: int, endpoint_id: int, after_id: int, through_id: int | None, version_id: int | None):
    conditions = [
        feedback.c.project_id == project_id,
        invocations.c.endpoint_id == endpoint_id,
        invocations.c.shadow.is_(False),
        feedback.c.id > after_id,
    ]
    if through_id is not None:
        conditions.append(feedback.c.id <= through_id)
    if version_id is not None:
        conditions.append(invocations.c.model_version_id == version_id)
    return conditions


def count_labelled(
    engine: Engine, project_id: int, endpoint_id: int, after_id: int = 0, version_id: int | None = None
) -> int:
    """Distinct predictions of the endpoint with feedback newer than ``after_id`` (cheap: no payloads read)."""
    query = (
        select(func.count(func.distinct(feedback.c.prediction_id)))
        .select_from(feedback.join(invocations, invocations.c.id == feedback.c.invocation_id))
        .where(*_scope(project_id, endpoint_id, after_id, None, version_id))
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar() or 0)


def last_feedback_id(engine: Engine, project_id: int) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(select(func.max(feedback.c.id)).where(feedback.c.project_id == project_id)).scalar() or 0
        )


def labelled_predictions(
    engine: Engine,
    project_id: int,
    endpoint_id: int,
    after_id: int = 0,
    through_id: int | None = None,
    since: datetime | None = None,
    version_id: int | None = None,
) -> list[LabelledPrediction]:
    """The endpoint's predictions with feedback in ``(after_id, through_id]``, oldest prediction first.

    ``since`` keeps only predictions made at or after that moment; ``version_id`` only
    those a given model version answered.
    """
    conditions = _scope(project_id, endpoint_id, after_id, through_id, version_id)
    if since is not None:
        conditions.append(invocations.c.created_at >= since)
    query = (
        select(
            feedback.c.id,
            feedback.c.event_id,
            feedback.c.prediction_id,
            feedback.c.invocation_id,
            feedback.c.position,
            feedback.c.label,
            feedback.c.outcome,
            feedback.c.reward,
            feedback.c.created_at,
        )
        .select_from(feedback.join(invocations, invocations.c.id == feedback.c.invocation_id))
        .where(*conditions)
        .order_by(feedback.c.id)
    )
    with engine.connect() as conn:
        latest = {row.prediction_id: row for row in conn.execute(query)}  # later feedback replaces earlier
        payloads = _invocations(conn, {row.invocation_id for row in latest.values()})
    found = []
    for row in latest.values():
        logged = payloads[row.invocation_id]
        found.append(
            LabelledPrediction(
                feedback_id=row.id,
                prediction_id=row.prediction_id,
                model_version_id=logged["model_version_id"],
                predicted_at=logged["created_at"],
                record=FeedbackRecord(
                    input=logged["inputs"][row.position],
                    output=logged["outputs"][row.position],
                    feedback={
                        "label": row.label,
                        "outcome": row.outcome,
                        "reward": row.reward,
                        "event_id": row.event_id,
                        "prediction_id": row.prediction_id,
                        "created_at": row.created_at.isoformat(),
                    },
                ),
            )
        )
    found.sort(key=lambda item: (item.predicted_at, item.feedback_id))
    return found


def _invocations(conn, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    ids = sorted(ids)
    payloads = {}
    for start in range(0, len(ids), _CHUNK):
        query = select(
            invocations.c.id,
            invocations.c.model_version_id,
            invocations.c.inputs,
            invocations.c.outputs,
            invocations.c.created_at,
        ).where(invocations.c.id.in_(ids[start : start + _CHUNK]))
        payloads.update({row["id"]: dict(row) for row in conn.execute(query).mappings()})
    return payloads


def rows_table(rows: list[dict[str, Any]], schema: pa.Schema | None) -> pa.Table:
    """Training rows as a table with ``schema``'s columns and types (keys it lacks are left out).

    Raises
    ------
    InvalidInput
        When a column's feedback values cannot take the type the base dataset gives it.
    """
    if schema is None:
        try:
            return pa.Table.from_pylist(rows)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InvalidInput(f"the feedback rows do not form a table: {exc}") from exc
    columns = []
    for field in schema:
        values = [row.get(field.name) for row in rows]
        try:
            array = pa.array(values, type=field.type, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            try:
                array = pa.array([None if v is None else str(v) for v in values]).cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
                raise InvalidInput(
                    f"feedback values of column {field.name!r} cannot be read as {field.type} "
                    f"(the type of that column in the base dataset): {exc}"
                ) from exc
        columns.append(array)
    return pa.Table.from_arrays(columns, schema=schema)


def write_union(parts: list[pa.Table], path: Path) -> int:
    """Write the tables, one after the other, as one Parquet file; return its row count."""
    parts = [part for part in parts if part is not None]
    table = pa.concat_tables(parts, promote_options="permissive") if len(parts) > 1 else parts[0]
    pq.write_table(table, path)
    return table.num_rows


def recent_inputs(engine: Engine, project_id: int, endpoint_id: int, since: datetime | None, rows: int) -> list[Any]:
    """Up to ``rows`` of the newest inputs the endpoint answered (not in shadow) after ``since``."""
    query = (
        select(invocations.c.inputs)
        .where(
            invocations.c.project_id == project_id,
            invocations.c.endpoint_id == endpoint_id,
            invocations.c.shadow.is_(False),
        )
        .order_by(invocations.c.created_at.desc())
    )
    if since is not None:
        query = query.where(invocations.c.created_at > since)
    found: list[Any] = []
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=200).execute(query)
        try:
            for (inputs,) in result:
                found.extend(inputs)
                if len(found) >= rows:
                    break
        finally:
            result.close()  # stopping early must close PostgreSQL's server-side cursor
    return found[:rows]
