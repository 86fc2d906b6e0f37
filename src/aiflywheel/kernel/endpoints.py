"""Endpoints: named entry points that serve a model's champion (and optionally its challenger).

An endpoint follows its model's stages rather than pinning a version, so that a
promotion — by hand or by the flywheel — changes what it serves with no redeploy.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from aiflywheel.backends.store.schema import endpoints, flywheel_policies, models
from aiflywheel.errors import Conflict, InvalidInput, NotFound
from aiflywheel.kernel.clock import UtcDatetime, now
from aiflywheel.kernel.names import check_name
from aiflywheel.kernel.registry import ModelRegistry, ModelVersion, Stage


class EndpointConfig(BaseModel):
    """How an endpoint routes and batches; every field has a default that works."""

    model_config = ConfigDict(extra="forbid")

    challenger_mode: Literal["off", "split", "shadow"] = Field(
        "off", description="split: a share of traffic goes to the challenger; shadow: it sees every request, unseen"
    )
    challenger_share: float = Field(0.1, ge=0.0, le=1.0, description="share of requests routed to the challenger")
    max_batch_size: int = Field(64, ge=1, le=10_000, description="rows per predictor call at most")
    max_wait_ms: float = Field(
        0.0,
        ge=0.0,
        le=1_000.0,
        description="how long a request waits for company; 0 batches only what queued while the model was busy",
    )
    max_instances: int = Field(1_000, ge=1, le=100_000, description="rows per request at most")
    idle_unload_seconds: float = Field(600.0, ge=0.0, description="unload the model after this idle time; 0: never")


class Endpoint(BaseModel):
    id: int
    name: str
    model: str
    kind: str
    config: EndpointConfig
    created_at: UtcDatetime
    updated_at: UtcDatetime


class Route(BaseModel):
    """What an invocation of an endpoint is served by, at this moment."""

    endpoint: Endpoint
    champion: ModelVersion
    challenger: ModelVersion | None


def parse_config(raw: dict[str, Any]) -> EndpointConfig:
    try:
        return EndpointConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"endpoint config {where}: {first['msg']} (got {first.get('input')!r})") from exc


class Endpoints:
    """The endpoints of one project."""

    def __init__(self, engine: Engine, project_id: int, models: ModelRegistry):
        self.engine = engine
        self.project_id = project_id
        self.models = models

    def deploy(
        self, model: str, endpoint: str | None = None, version: int | None = None, config: dict | None = None
    ) -> Endpoint:
        """Serve ``model`` at ``endpoint`` (default: the model's name).

        With ``version``, that version becomes the champion first; without one, the model
        keeps its champion, or its latest version becomes champion if it has none.
        """
        name = check_name(endpoint or model, "endpoint")
        if version is not None:
            self.models.promote(model, version, Stage.CHAMPION)
        elif self.models.champion(model) is None:
            self.models.promote(model, self.models.list(model)[-1].version, Stage.CHAMPION)
        with self.engine.connect() as conn:
            model_id = conn.execute(
                select(models.c.id).where(models.c.project_id == self.project_id, models.c.name == model)
            ).scalar_one()
            existing = self._row(conn, name)
        merged = parse_config({**(existing["config"] if existing else {}), **(config or {})})
        values = {"model_id": model_id, "config": merged.model_dump(), "updated_at": now()}
        try:
            with self.engine.begin() as conn:
                if existing:
                    conn.execute(update(endpoints).where(endpoints.c.id == existing["id"]).values(**values))
                else:
                    conn.execute(
                        insert(endpoints).values(project_id=self.project_id, name=name, created_at=now(), **values)
                    )
        except IntegrityError as exc:
            raise Conflict(f"endpoint {name!r} was created by someone else at the same time; try again") from exc
        return self.get(name)

    def configure(self, name: str, changes: dict[str, Any]) -> Endpoint:
        current = self.get(name)
        merged = parse_config({**current.config.model_dump(), **changes})
        with self.engine.begin() as conn:
            conn.execute(
                update(endpoints)
                .where(endpoints.c.id == current.id)
                .values(config=merged.model_dump(), updated_at=now())
            )
        return self.get(name)

    def route_challenger(self, conn: Connection, endpoint_id: int, mode: str, share: float | None = None) -> None:
        """Set how the challenger gets traffic, inside the caller's transaction (the flywheel's trials)."""
        stored = conn.execute(select(endpoints.c.config).where(endpoints.c.id == endpoint_id)).scalar_one()
        changes = {"challenger_mode": mode, **({"challenger_share": share} if share is not None else {})}
        config = parse_config({**stored, **changes})
        conn.execute(
            update(endpoints).where(endpoints.c.id == endpoint_id).values(config=config.model_dump(), updated_at=now())
        )

    def _query(self):
        return (
            select(endpoints, models.c.name.label("model"), models.c.kind)
            .join(models, models.c.id == endpoints.c.model_id)
            .where(endpoints.c.project_id == self.project_id)
        )

    def _row(self, conn, name: str):
        return conn.execute(self._query().where(endpoints.c.name == name)).mappings().first()

    def get(self, name: str) -> Endpoint:
        with self.engine.connect() as conn:
            row = self._row(conn, name)
        if row is None:
            raise NotFound(f"no endpoint named {name!r}")
        return Endpoint.model_validate(dict(row))

    def list(self) -> list[Endpoint]:
        with self.engine.connect() as conn:
            rows = conn.execute(self._query().order_by(endpoints.c.name)).mappings().all()
        return [Endpoint.model_validate(dict(row)) for row in rows]

    def delete(self, name: str) -> None:
        found = self.get(name)
        with self.engine.begin() as conn:
            conn.execute(delete(flywheel_policies).where(flywheel_policies.c.endpoint_id == found.id))
            conn.execute(delete(endpoints).where(endpoints.c.id == found.id))

    def route(self, name: str) -> Route:
        found = self.get(name)
        champion = self.models.champion(found.model)
        if champion is None:
            raise Conflict(
                f"endpoint {name!r}: model {found.model!r} has no champion; promote a version or deploy again"
            )
        challenger = self.models.challenger(found.model)
        return Route(endpoint=found, champion=champion, challenger=challenger)
