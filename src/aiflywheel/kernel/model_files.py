"""A model's files travel as one tar blob in the artifact store, unpacked once per process host.

Kinds see only a directory: ``train`` writes into one, ``load`` reads from one.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from aiflywheel.backends.artifacts import ArtifactStore

if TYPE_CHECKING:
    from aiflywheel.kernel.kinds import KindRegistry, Predictor
    from aiflywheel.kernel.registry import ModelVersion


def pack(workdir: Path, artifacts: ArtifactStore, scratch: Path) -> str:
    """Store the files under ``workdir`` as one blob; return its digest."""
    scratch.mkdir(parents=True, exist_ok=True)
    fd, bundle = tempfile.mkstemp(dir=scratch, suffix=".tar")
    os.close(fd)
    try:
        with tarfile.open(bundle, "w") as tar:
            for path in sorted(workdir.rglob("*")):
                # Fixed metadata so the same files give the same digest.
                info = tar.gettarinfo(str(path), arcname=str(path.relative_to(workdir)))
                info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                if path.is_file():
                    with open(path, "rb") as handle:
                        tar.addfile(info, handle)
                else:
                    tar.addfile(info)
        return artifacts.put_file(Path(bundle))
    finally:
        os.unlink(bundle)


def unpack(digest: str, artifacts: ArtifactStore, cache: Path) -> Path:
    """Return a directory holding the model files of ``digest``, unpacking them on first use."""
    target = cache / digest.replace(":", "-")
    if target.is_dir():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=cache, prefix=".unpack-"))
    try:
        with tarfile.open(artifacts.local_path(digest)) as tar:
            tar.extractall(staging, filter="data")
        os.replace(staging, target)
    except OSError:
        if not target.is_dir():  # another process may have unpacked the same blob first
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def load_predictor(version: ModelVersion, kinds: KindRegistry, artifacts: ArtifactStore, cache: Path) -> Predictor:
    """The predictor of a model version: its files unpacked (once) and loaded by its kind."""
    return kinds.get(version.kind).load(unpack(version.artifact, artifacts, cache))
