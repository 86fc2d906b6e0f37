"""API keys: a project and a role per key, stored only as a hash.

A key reads ``fw_<key id>_<secret>``. The key id is public and indexed, so a lookup
is one query; the secret is 32 random bytes, so a SHA-256 of it (compared in constant
time) is as safe as a slow password hash and fast enough for every request. The
``type`` column leaves room for a second credential type (SigV4 access keys, whose
secret must be stored encrypted instead of hashed).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import Engine, func, insert, select, update

from aiflywheel.backends.store.schema import api_keys, projects
from aiflywheel.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from aiflywheel.kernel.clock import UtcDatetime, now
from aiflywheel.kernel.projects import ensure_project

PREFIX = "fw"


class Role(StrEnum):
    READER = "reader"  # read resources, invoke endpoints
    WRITER = "writer"  # + datasets, training, deploys, promotions, feedback
    ADMIN = "admin"  # + keys

    def allows(self, needed: Role) -> bool:
        order = [Role.READER, Role.WRITER, Role.ADMIN]
        return order.index(self) >= order.index(needed)


class Principal(BaseModel):
    """Who is calling: the key's project and role."""

    key_id: str
    project_id: int
    project: str
    role: Role

    def require(self, needed: Role) -> None:
        if not self.role.allows(needed):
            raise Forbidden(f"this {self.role.value} key cannot do that; it needs a key of role {needed.value}")


class KeyInfo(BaseModel):
    key_id: str
    project: str
    role: Role
    name: str
    revoked: bool
    created_at: UtcDatetime


class Keys:
    """Keys across all projects: creating them (locally or by an admin) and checking them."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def create(self, role: Role | str, project: str, name: str = "") -> tuple[str, KeyInfo]:
        """Return the new key (shown once, never stored) and what is stored about it."""
        try:
            role = Role(role)
        except ValueError as exc:
            raise InvalidInput(f"role {role!r} is not one of {', '.join(r.value for r in Role)}") from exc
        project_id = ensure_project(self.engine, project)
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(
                insert(api_keys).values(
                    project_id=project_id,
                    key_id=key_id,
                    type="bearer",
                    secret_hash=_hash(secret),
                    role=role,
                    name=name,
                    revoked=False,
                    created_at=now(),
                )
            )
        return f"{PREFIX}_{key_id}_{secret}", self.get(key_id)

    def count(self, project: str) -> int:
        query = select(func.count()).select_from(api_keys.join(projects)).where(projects.c.name == project)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar_one()

    def _query(self):
        return select(api_keys, projects.c.name.label("project")).join(projects)

    def get(self, key_id: str) -> KeyInfo:
        with self.engine.connect() as conn:
            row = conn.execute(self._query().where(api_keys.c.key_id == key_id)).mappings().first()
        if row is None:
            raise NotFound(f"no key {key_id}")
        return KeyInfo.model_validate(dict(row))

    def list(self, project: str) -> list[KeyInfo]:
        with self.engine.connect() as conn:
            rows = conn.execute(self._query().where(projects.c.name == project).order_by(api_keys.c.id)).mappings()
            return [KeyInfo.model_validate(dict(row)) for row in rows]

    def revoke(self, key_id: str) -> KeyInfo:
        with self.engine.begin() as conn:
            if not conn.execute(update(api_keys).where(api_keys.c.key_id == key_id).values(revoked=True)).rowcount:
                raise NotFound(f"no key {key_id}")
        return self.get(key_id)

    def authenticate(self, key: str) -> Principal:
        """The principal of ``key``; ``Unauthorized`` for a malformed, unknown or revoked key."""
        prefix, _, rest = (key or "").partition("_")
        key_id, _, secret = rest.partition("_")
        if prefix != PREFIX or not key_id or not secret:
            raise Unauthorized("the API key is malformed; it looks like fw_<id>_<secret>")
        with self.engine.connect() as conn:
            row = conn.execute(self._query().where(api_keys.c.key_id == key_id)).mappings().first()
        if row is None or row["revoked"] or not hmac.compare_digest(row["secret_hash"], _hash(secret)):
            raise Unauthorized("the API key is unknown or revoked")
        return Principal(key_id=key_id, project_id=row["project_id"], project=row["project"], role=row["role"])


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
