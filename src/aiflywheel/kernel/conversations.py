"""Conversations: endpoints whose predictions carry dialog state, kept per session in the metadata store.

A conversational kind's predictor is stateless: each instance brings the ``session``
its previous turn returned, and each prediction returns the next one. This module is
the memory between turns: it reads the session's state, invokes the endpoint through
``Serving`` (so every turn is routed, micro-batched and logged like any prediction),
and writes the new state back. State in the store survives restarts and is shared by
every process serving the endpoint.

Two turns of one session racing each other cannot both win: the write is a
compare-and-set on the session's turn count, and the loser gets ``Conflict``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from aiflywheel.backends.store.schema import conversation_sessions, endpoints, invocations
from aiflywheel.errors import Conflict, InvalidInput, NotFound
from aiflywheel.kernel.clock import now
from aiflywheel.kernel.predictions import prediction_ids
from aiflywheel.kernel.serving import Serving

_SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}")


@dataclass(frozen=True)
class Reply:
    """One turn's prediction (without the stored state), its prediction id and the session's turn number."""

    prediction: dict[str, Any]
    prediction_id: str
    model_version: str
    session_id: str
    turn: int


def check_session_id(session_id: Any) -> str:
    if not isinstance(session_id, str) or not _SESSION_ID.fullmatch(session_id):
        raise InvalidInput(
            f"session_id {session_id!r} is not allowed: use 1-200 letters, digits, '.', '_', ':', '@' or '-'"
        )
    return session_id


class Conversations:
    """Sessions of the conversational endpoints of one project."""

    def __init__(self, engine: Engine, project_id: int):
        self.engine = engine
        self.project_id = project_id

    def state(self, endpoint: str, session_id: str) -> tuple[dict[str, Any] | None, int]:
        """The stored state of a session and its turn count (``None, 0`` for a new session)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(conversation_sessions.c.state, conversation_sessions.c.turns).where(
                    self._key(endpoint, session_id)
                )
            ).first()
        return (row.state, row.turns) if row else (None, 0)

    def turn(self, serving: Serving, endpoint: str, session_id: str, instance: dict[str, Any]) -> Reply:
        """Send one utterance (or any instance) of ``session_id`` to ``endpoint`` and remember the new state.

        Raises
        ------
        InvalidInput
            For a bad session id, or an endpoint whose predictions carry no ``session``.
        Conflict
            When another turn of the same session was answered meanwhile.
        """
        check_session_id(session_id)
        if not isinstance(instance, dict):
            raise InvalidInput("a turn is a JSON object")
        state, turns = self.state(endpoint, session_id)
        invocation = serving.invoke(
            self.project_id, endpoint, [{**instance, "session_id": session_id, "session": state}]
        ).result()
        prediction = dict(invocation.predictions[0])
        new_state = prediction.pop("session", None)
        if not isinstance(new_state, dict):
            raise InvalidInput(f"endpoint {endpoint!r} does not hold conversations (its model returns no session)")
        self._save(endpoint, session_id, new_state, turns)
        return Reply(prediction, invocation.prediction_ids[0], invocation.model_version, session_id, turns + 1)

    def forget(self, endpoint: str, session_id: str) -> None:
        """End a session: its next turn starts afresh."""
        with self.engine.begin() as conn:
            gone = conn.execute(delete(conversation_sessions).where(self._key(endpoint, session_id))).rowcount
        if not gone:
            raise NotFound(f"no session {session_id!r} at endpoint {endpoint!r}")

    def _save(self, endpoint: str, session_id: str, state: dict[str, Any], turns: int) -> None:
        at = now()
        try:
            with self.engine.begin() as conn:
                if turns == 0:
                    conn.execute(
                        insert(conversation_sessions).values(
                            project_id=self.project_id,
                            endpoint=endpoint,
                            session_id=session_id,
                            state=state,
                            turns=1,
                            created_at=at,
                            updated_at=at,
                        )  # fmt: skip
                    )
                    return
                changed = conn.execute(
                    update(conversation_sessions)
                    .where(and_(self._key(endpoint, session_id), conversation_sessions.c.turns == turns))
                    .values(state=state, turns=turns + 1, updated_at=at)
                ).rowcount
        except IntegrityError:
            changed = 0
        if not changed:
            raise Conflict(f"session {session_id!r} answered another turn at the same time; send this one again")

    def _key(self, endpoint: str, session_id: str):
        return and_(
            conversation_sessions.c.project_id == self.project_id,
            conversation_sessions.c.endpoint == endpoint,
            conversation_sessions.c.session_id == session_id,
        )


def recent_turns(engine: Engine, project_id: int, endpoint: str, rows: int) -> list[tuple[str, Any, Any]]:
    """Up to ``rows`` of the newest (prediction id, input, output) the endpoint answered, shadows excluded."""
    with engine.connect() as conn:
        endpoint_id = conn.execute(
            select(endpoints.c.id).where(endpoints.c.project_id == project_id, endpoints.c.name == endpoint)
        ).scalar()
        if endpoint_id is None:
            raise NotFound(f"no endpoint {endpoint!r} in this project")
        query = (
            select(invocations.c.id, invocations.c.inputs, invocations.c.outputs)
            .where(
                invocations.c.project_id == project_id,
                invocations.c.endpoint_id == endpoint_id,
                invocations.c.shadow.is_(False),
            )
            .order_by(invocations.c.created_at.desc())
        )
        found: list[tuple[str, Any, Any]] = []
        result = conn.execution_options(yield_per=200).execute(query)
        try:
            for invocation_id, inputs, outputs in result:
                ids = prediction_ids(invocation_id, len(inputs))
                found += list(zip(ids, inputs, outputs, strict=True))
                if len(found) >= rows:
                    break
        finally:
            result.close()  # stopping early must close PostgreSQL's server-side cursor
    return found[:rows]
