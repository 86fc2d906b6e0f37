"""Console sessions: sign in with an API key once, then a signed, HttpOnly, SameSite cookie.

The cookie never holds the key. It holds the key's id, its project and a random nonce,
signed with a secret kept in the Flywheel home (made on first use, readable by its owner
only). Each request re-checks the key in the store, so revoking a key ends its console
sessions at once. Every form carries a CSRF token derived from the nonce; signing in
replaces the nonce, so a token seen before sign-in is useless.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from aiflywheel.errors import Forbidden, NotFound, Unauthorized
from aiflywheel.kernel.keys import Keys, Principal

COOKIE = "flywheel_console"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_AGE_SECONDS = 12 * 3600


@dataclass(frozen=True)
class Session:
    nonce: str
    key_id: str | None = None
    project_id: int | None = None

    @property
    def signed_in(self) -> bool:
        return self.key_id is not None


class SignInRequired(Exception):
    """Raised by a page that needs a signed-in session; the console answers with a redirect to sign in."""

    def __init__(self, next_path: str):
        self.next_path = next_path


def load_secret(path: Path) -> bytes:
    """The signing secret in ``path``, created (owner-only) the first time."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


class Sessions:
    """Signs and reads session cookies, checks CSRF tokens and turns a session into a ``Principal``."""

    def __init__(self, secret: bytes, keys: Keys, secure_cookie: bool = False):
        self.secret = secret
        self.keys = keys
        self.secure_cookie = secure_cookie
        self._serializer = URLSafeTimedSerializer(secret, salt="flywheel-console-session")

    def new(self, principal: Principal | None = None) -> Session:
        nonce = secrets.token_urlsafe(24)
        if principal is None:
            return Session(nonce)
        return Session(nonce, principal.key_id, principal.project_id)

    def read(self, request: Request) -> Session | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            data = self._serializer.loads(raw, max_age=MAX_AGE_SECONDS)
        except BadSignature:
            return None
        return Session(data["n"], data.get("k"), data.get("p"))

    def cookie(self, session: Session) -> dict:
        """Keyword arguments for ``Response.set_cookie``."""
        value = self._serializer.dumps({"n": session.nonce, "k": session.key_id, "p": session.project_id})
        return {
            "key": COOKIE,
            "value": value,
            "max_age": MAX_AGE_SECONDS,
            "httponly": True,
            "samesite": "strict",
            "secure": self.secure_cookie,
            "path": "/",
        }

    def csrf_token(self, session: Session) -> str:
        return hmac.new(self.secret, f"csrf:{session.nonce}".encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, session: Session | None, submitted: str | None) -> None:
        if session is None or not submitted or not hmac.compare_digest(self.csrf_token(session), submitted):
            raise Forbidden(
                "the form's security token (CSRF) is missing or out of date; reload the page and submit it again"
            )

    def principal(self, session: Session) -> Principal:
        """Who the session belongs to; ``Unauthorized`` once its key is revoked or gone.

        Not cached: a page makes several store queries anyway, and a revoked key must end its sessions now.
        """
        try:
            info = self.keys.get(session.key_id)
        except NotFound as exc:
            raise Unauthorized("this console session's API key no longer exists; sign in again") from exc
        if info.revoked:
            raise Unauthorized("this console session's API key was revoked; sign in with another key")
        return Principal(key_id=info.key_id, project_id=session.project_id, project=info.project, role=info.role)
