"""Route dependencies: who is calling, and their project's platform."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from aiflywheel.kernel.keys import Principal, Role
from aiflywheel.kernel.platform import Platform


def api(request: Request):
    return request.app.state.api


async def principal(request: Request) -> Principal:
    # async on purpose: FastAPI runs a sync dependency on a worker thread, a costly hop per request
    return request.app.state.api.auth(request)


Caller = Annotated[Principal, Depends(principal)]


def project(request: Request, caller: Caller) -> Platform:
    return request.app.state.api.for_project(caller.project_id)


def writer(caller: Caller) -> Principal:
    caller.require(Role.WRITER)
    return caller


def admin(caller: Caller) -> Principal:
    caller.require(Role.ADMIN)
    return caller


ProjectPlatform = Annotated[Platform, Depends(project)]
Writer = Annotated[Principal, Depends(writer)]
Admin = Annotated[Principal, Depends(admin)]
