"""Built-in services: pretrained kinds installed as model versions and served at first start.

A pretrained kind (text-to-speech, speech-to-text, vision, language) declares
``services``, endpoint name → params. Installing writes what the kind's ``load``
needs (a manifest naming weights that ship in a package, a lexicon, ...) into a
model version, exactly like training does, so a service is versioned, promoted,
served and retrained by the flywheel like any other model. Changing a service's
settings is installing a new version with new params.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiflywheel.errors import InvalidInput, KindNotFound, NotFound
from aiflywheel.kernel.kinds import Kind, parse_params
from aiflywheel.kernel.model_files import pack
from aiflywheel.kernel.registry import ModelVersion, Stage

if TYPE_CHECKING:
    from aiflywheel.kernel.platform import Platform

logger = logging.getLogger(__name__)


def install_version(
    platform: Platform, kind_name: str, params: dict[str, Any], model: str | None = None, promote: bool = True
) -> ModelVersion:
    """Install pretrained ``kind_name`` with ``params`` as the next version of ``model`` (default: the kind's name).

    The new version becomes champion unless ``promote`` is false, so endpoints serving
    ``model`` switch to it at once.

    Raises
    ------
    KindNotFound, InvalidInput
        For an unknown kind, a kind that is not pretrained, or parameters it rejects.
    """
    kind = platform.kinds.get(kind_name)
    if not kind.pretrained:
        raise InvalidInput(f"kind {kind_name!r} is not pretrained: train it on a dataset instead")
    parsed = parse_params(kind, params)
    model = model or kind_name
    parent = platform.models.champion(model)
    scratch = platform.settings.home / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch, prefix=f"install-{kind_name}-") as workdir:
        installed = kind.install(parsed, Path(workdir))
        digest = pack(Path(workdir), platform.artifacts, scratch)
    version = platform.models.register(
        model=model,
        kind=kind_name,
        params=parsed.model_dump(mode="json"),
        metrics=installed.metrics,
        primary_metric=installed.primary_metric,
        artifact=digest,
        parent_version_id=parent.id if parent else None,
    )
    if promote:
        version = platform.models.promote(model, version.version, Stage.CHAMPION)
    return version


def provision_services(platform: Platform) -> list[str]:
    """Install and deploy every pretrained kind's services that this project has never had.

    A service is provisioned when no model of its name exists yet, so a user who deletes
    its endpoint, or replaces its model, is not overruled at the next start. A kind that
    fails to install (say, an optional engine missing) is skipped with a warning; the
    others still come up. Returns the endpoints created.
    """
    created = []
    for kind in _pretrained_kinds(platform):
        for endpoint, params in kind.services.items():
            if _has_model(platform, endpoint):
                continue
            try:
                install_version(platform, kind.name, params, model=endpoint)
            except Exception:  # one broken engine must not keep the platform or other services down
                logger.warning("service %r (kind %r) could not be installed", endpoint, kind.name, exc_info=True)
                continue
            platform.endpoints.deploy(endpoint)
            created.append(endpoint)
    return created


def _pretrained_kinds(platform: Platform) -> list[Kind]:
    found = []
    for name in platform.kinds.names():
        try:
            kind = platform.kinds.get(name)
        except KindNotFound:
            continue
        if kind.pretrained and getattr(kind, "services", None):
            found.append(kind)
    return found


def _has_model(platform: Platform, model: str) -> bool:
    try:
        platform.models.list(model)
    except NotFound:
        return False
    return True
