"""Bearer-key authentication with a short in-memory cache, so the hot path costs a dict lookup."""

from __future__ import annotations

import time

from fastapi import Request

from aiflywheel.errors import Unauthorized
from aiflywheel.kernel.keys import Keys, Principal

CACHE_SECONDS = 30.0  # a revoked key stops working within this time


class Authenticator:
    def __init__(self, keys: Keys, cache_seconds: float = CACHE_SECONDS):
        self.keys = keys
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Principal]] = {}

    def __call__(self, request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Unauthorized(
                "send an API key as 'Authorization: Bearer KEY' (create one with `flywheel keys create`)"
            )
        key = key.strip()
        cached = self._cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < self.cache_seconds:
            return cached[1]
        principal = self.keys.authenticate(key)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (time.monotonic(), principal)
        return principal

    def forget(self) -> None:
        self._cache.clear()
