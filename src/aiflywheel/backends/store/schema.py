"""The metadata store's tables (SQLAlchemy Core).

Alembic migrations under ``migrations/versions`` create exactly these;
``tests/backends/test_store.py`` fails if the two drift apart.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _created_at() -> Column:
    return Column("created_at", DateTime(timezone=True), nullable=False)


projects = Table(
    "projects",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    _created_at(),
)

datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", ForeignKey("projects.id"), nullable=False),
    Column("name", String(200), nullable=False),
    _created_at(),
    UniqueConstraint("project_id", "name"),
)

dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dataset_id", ForeignKey("datasets.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("artifact", String(100), nullable=False),
    Column("columns", JSON, nullable=False),
    Column("row_count", BigInteger, nullable=False),
    Column("preview", JSON, nullable=False),
    Column("source", JSON, nullable=False),
    Column("parent_version_id", ForeignKey("dataset_versions.id"), nullable=True),
    _created_at(),
    UniqueConstraint("dataset_id", "version"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", ForeignKey("projects.id"), nullable=False),
    Column("type", String(50), nullable=False),
    Column("spec", JSON, nullable=False),
    Column("state", String(20), nullable=False, index=True),
    Column("progress", Float, nullable=False),
    Column("message", Text, nullable=False),
    Column("error", Text, nullable=True),
    Column("result", JSON, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("cancel_requested", Boolean, nullable=False),
    Column("worker", String(200), nullable=True),
    Column("heartbeat_at", DateTime(timezone=True), nullable=True),
    _created_at(),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
)

job_logs = Table(
    "job_logs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job_id", ForeignKey("jobs.id"), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("message", Text, nullable=False),
)

models = Table(
    "models",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", ForeignKey("projects.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(100), nullable=False),
    _created_at(),
    UniqueConstraint("project_id", "name"),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", ForeignKey("models.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("kind", String(100), nullable=False),
    Column("params", JSON, nullable=False),
    Column("metrics", JSON, nullable=False),
    Column("primary_metric", String(100), nullable=False),
    Column("greater_is_better", Boolean, nullable=False),
    Column("artifact", String(100), nullable=False),
    Column("dataset_version_id", ForeignKey("dataset_versions.id"), nullable=True),
    Column("job_id", ForeignKey("jobs.id"), nullable=True),
    Column("parent_version_id", ForeignKey("model_versions.id"), nullable=True),
    Column("stage", String(20), nullable=False),
    _created_at(),
    UniqueConstraint("model_id", "version"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", ForeignKey("projects.id"), nullable=False),
    Column("key_id", String(40), nullable=False, unique=True),  # the public part of the key, for lookup
    Column("type", String(20), nullable=False),  # "bearer" now; room for SigV4 access keys later
    Column("secret_hash", String(128), nullable=False),
    Column("role", String(20), nullable=False),
    Column("name", String(200), nullable=False),
    Column("revoked", Boolean, nullable=False),
    _created_at(),
)

endpoints = Table(
    "endpoints",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", ForeignKey("projects.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("model_id", ForeignKey("models.id"), nullable=False),
    Column("config", JSON, nullable=False),
    _created_at(),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("project_id", "name"),
)

invocations = Table(
    "invocations",
    metadata,
    Column("id", String(40), primary_key=True),  # prediction i of an invocation has the id "<this id>.<i>"
    Column("project_id", ForeignKey("projects.id"), nullable=False),
    Column("endpoint_id", ForeignKey("endpoints.id"), nullable=True),  # null: a batch-prediction job
    # indexed: a predictor that keeps state (fraud's entity history) replays its version's inputs at load
    Column("model_version_id", ForeignKey("model_versions.id"), nullable=False, index=True),
    Column("count", Integer, nullable=False),
    Column("inputs", JSON, nullable=False),
    Column("outputs", JSON, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("shadow", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", ForeignKey("projects.id"), nullable=False),
    Column("event_id", String(200), nullable=False),
    Column("prediction_id", String(60), nullable=False, index=True),
    Column("invocation_id", ForeignKey("invocations.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("label", JSON, nullable=True),
    Column("outcome", JSON, nullable=True),
    Column("reward", Float, nullable=True),
    _created_at(),
    UniqueConstraint("project_id", "event_id"),
)

flywheel_policies = Table(
    "flywheel_policies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", ForeignKey("projects.id"), nullable=False),
    Column("endpoint_id", ForeignKey("endpoints.id"), nullable=False, unique=True),
    Column("policy", JSON, nullable=False),
    Column("state", JSON, nullable=False),  # counters and what is in flight: a retrain job, a trial, a watch
    Column("revision", Integer, nullable=False),  # compare-and-set guard: two loops never act on one state twice
    _created_at(),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

flywheel_events = Table(
    "flywheel_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", ForeignKey("projects.id"), nullable=False),
    # No foreign key: the history of an endpoint outlives the endpoint.
    Column("endpoint_id", Integer, nullable=False, index=True),
    Column("endpoint", String(200), nullable=False),
    Column("type", String(40), nullable=False),
    Column("job_id", Integer, nullable=True, index=True),
    Column("champion_version_id", Integer, nullable=True),
    Column("challenger_version_id", Integer, nullable=True),
    Column("reason", Text, nullable=False),
    Column("details", JSON, nullable=False),
    _created_at(),
)

conversation_sessions = Table(
    "conversation_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", ForeignKey("projects.id"), nullable=False),
    # By endpoint name, no foreign key: a bot redeployed under the same name keeps its conversations.
    Column("endpoint", String(200), nullable=False),
    Column("session_id", String(200), nullable=False),
    Column("state", JSON, nullable=False),
    Column("turns", Integer, nullable=False),
    _created_at(),
    Column("updated_at", DateTime(timezone=True), nullable=False, index=True),
    UniqueConstraint("project_id", "endpoint", "session_id"),
)

face_collections = Table(
    "face_collections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", ForeignKey("projects.id"), nullable=False),
    Column("name", String(200), nullable=False),
    _created_at(),
    UniqueConstraint("project_id", "name"),
)

collection_faces = Table(
    "collection_faces",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("collection_id", ForeignKey("face_collections.id"), nullable=False, index=True),
    Column("external_id", String(200), nullable=False),  # the caller's id for the person or photo
    Column("embedding", LargeBinary, nullable=False),  # float32 little-endian, as the faces service returns it
    Column("details", JSON, nullable=False),  # box, quality: what was found when the face was indexed
    _created_at(),
)
