"""Content-addressed artifact stores: blobs named by the SHA-256 of their bytes.

The interface is small on purpose so that an object store (``s3://``) can implement
it later: put a local file, make a stored blob available as a local file, check
existence. Writes are atomic: a blob is either wholly present under its digest
or absent; a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

from aiflywheel.errors import InvalidInput, NotFound

_CHUNK = 1 << 20


class ArtifactStore(Protocol):
    """Where datasets' Parquet files and models' packed files live."""

    def put_file(self, path: Path) -> str:
        """Store the file's bytes; return their digest (``sha256:<hex>``). The file is left in place."""

    def local_path(self, digest: str) -> Path:
        """Return a local, read-only path holding the blob's bytes."""

    def exists(self, digest: str) -> bool:
        """Whether a blob with this digest is stored."""


def file_digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            sha.update(chunk)
    return f"sha256:{sha.hexdigest()}"


def _hex(digest: str) -> str:
    algorithm, _, value = digest.partition(":")
    if algorithm != "sha256" or len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise InvalidInput(f"{digest!r} is not an artifact digest (expected sha256:<64 hex digits>)")
    return value


class LocalArtifactStore:
    """Blobs in a local folder: ``objects/<first two hex digits>/<hex digest>``."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _object_path(self, digest: str) -> Path:
        value = _hex(digest)
        return self.root / "objects" / value[:2] / value

    def put_file(self, path: Path) -> str:
        digest = file_digest(path)
        target = self._object_path(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = self.root / "staging"
        staging.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=staging)
        try:
            with os.fdopen(fd, "wb") as out, open(path, "rb") as source:
                shutil.copyfileobj(source, out, _CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, 0o444)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _fsync_directory(target.parent)
        return digest

    def local_path(self, digest: str) -> Path:
        target = self._object_path(digest)
        if not target.exists():
            raise NotFound(f"artifact {digest} is not in the artifact store at {self.root}")
        return target

    def exists(self, digest: str) -> bool:
        return self._object_path(digest).exists()


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_artifact_store(url: str) -> ArtifactStore:
    """Return the artifact store for ``url``: a folder path or ``file://`` URL.

    Raises
    ------
    InvalidInput
        For a scheme that has no store yet (``s3://`` is planned).
    """
    parsed = urlparse(url)
    if parsed.scheme in ("", "file"):
        return LocalArtifactStore(Path(parsed.path if parsed.scheme else url).expanduser())
    raise InvalidInput(f"artifact store URL {url!r}: scheme {parsed.scheme!r} is not supported yet; use a folder path")
