"""Projects: the unit of isolation. Every dataset, job and model belongs to one."""

from __future__ import annotations

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from aiflywheel.backends.store.schema import projects
from aiflywheel.kernel.clock import now
from aiflywheel.kernel.names import check_name

DEFAULT_PROJECT = "default"


def ensure_project(engine: Engine, name: str = DEFAULT_PROJECT) -> int:
    """Return the id of project ``name``, creating it on first use."""
    check_name(name, "project")
    query = select(projects.c.id).where(projects.c.name == name)
    with engine.connect() as conn:
        found = conn.execute(query).scalar()
    if found is not None:
        return found
    try:
        with engine.begin() as conn:
            return conn.execute(insert(projects).values(name=name, created_at=now())).inserted_primary_key[0]
    except IntegrityError:  # created meanwhile by another process
        with engine.connect() as conn:
            return conn.execute(query).scalar_one()


def project_ids(engine: Engine) -> list[int]:
    """Every project, oldest first."""
    with engine.connect() as conn:
        return list(conn.execute(select(projects.c.id).order_by(projects.c.id)).scalars())
