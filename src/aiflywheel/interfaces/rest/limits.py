"""A request body larger than the limit is refused with 413 before it is read into memory."""

from __future__ import annotations

import json

from aiflywheel.errors import PayloadTooLarge


class BodyLimit:
    """ASGI middleware: ``max_body`` bytes for every request, ``max_upload`` for file uploads.

    An upload route is named by its path, or by the end of its path (``upload_endings``, for routes
    with a parameter such as ``/v1/endpoints/{name}/transcription-jobs``).
    """

    def __init__(
        self,
        app,
        max_body: int,
        max_upload: int,
        upload_paths: tuple[str, ...] = ("/v1/datasets",),
        upload_endings: tuple[str, ...] = (),
    ):
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload
        self.upload_paths = upload_paths
        self.upload_endings = upload_endings

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return await self.app(scope, receive, send)
        upload = scope["path"] in self.upload_paths or scope["path"].endswith(self.upload_endings)
        limit = self.max_upload if upload else self.max_body
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await _refuse(send, limit)
        received = 0

        async def limited():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(f"the request body is larger than the limit of {limit} bytes")
            return message

        await self.app(scope, limited, send)


async def _refuse(send, limit: int) -> None:
    body = json.dumps(
        {
            "error": {
                "code": "payload_too_large",
                "message": f"the request body is larger than the limit of {limit} bytes",
            }
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
