import hashlib
import os

import pytest

from aiflywheel.backends.artifacts import LocalArtifactStore, open_artifact_store
from aiflywheel.errors import InvalidInput, NotFound


def test_blobs_are_named_by_their_content(tmp_path):
    store = LocalArtifactStore(tmp_path / "artifacts")
    source = tmp_path / "blob.bin"
    source.write_bytes(b"hello flywheel")
    digest = store.put_file(source)
    assert digest == "sha256:" + hashlib.sha256(b"hello flywheel").hexdigest()
    assert store.local_path(digest).read_bytes() == b"hello flywheel"
    assert store.exists(digest)
    assert source.exists(), "the caller's file stays where it was"
    assert store.put_file(source) == digest, "storing the same bytes twice is a no-op"


def test_a_failed_write_leaves_no_blob_and_no_temp_file(tmp_path, monkeypatch):
    store = LocalArtifactStore(tmp_path / "artifacts")
    source = tmp_path / "blob.bin"
    source.write_bytes(b"x" * 10_000)

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        store.put_file(source)
    monkeypatch.undo()
    assert not [p for p in (tmp_path / "artifacts" / "objects").rglob("*") if p.is_file()]
    assert not any((tmp_path / "artifacts" / "staging").iterdir())


def test_missing_and_malformed_digests(tmp_path):
    store = LocalArtifactStore(tmp_path)
    with pytest.raises(NotFound):
        store.local_path("sha256:" + "0" * 64)
    with pytest.raises(InvalidInput, match="not an artifact digest"):
        store.local_path("sha256:../../etc/passwd")


def test_store_urls(tmp_path):
    assert isinstance(open_artifact_store(str(tmp_path)), LocalArtifactStore)
    assert open_artifact_store(f"file://{tmp_path}").root == tmp_path
    with pytest.raises(InvalidInput, match="not supported yet"):
        open_artifact_store("s3://bucket/prefix")
