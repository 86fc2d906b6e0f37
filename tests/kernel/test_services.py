"""Built-in services: pretrained kinds installed as versioned models and deployed once per project."""

import pytest

from aiflywheel.errors import InvalidInput, KindNotFound, NotFound
from aiflywheel.kernel.projects import ensure_project
from aiflywheel.kernel.registry import Stage
from aiflywheel.testing import LexiconKind


def test_first_start_installs_and_deploys_each_service_once(platform):
    assert platform.provision_services() == ["spelling"]
    version = platform.models.get("spelling")
    assert (version.kind, version.version, version.stage) == ("lexicon", 1, Stage.CHAMPION)
    assert version.params == {"lexicon": {"colour": "color"}}
    route = platform.endpoints.route("spelling")
    assert platform.predictor(route.champion).predict([{"text": "colour me"}]) == [{"text": "color me"}]
    assert platform.provision_services() == []
    assert [v.version for v in platform.models.list("spelling")] == [1]


def test_a_deleted_service_endpoint_stays_deleted(platform):
    platform.provision_services()
    platform.endpoints.delete("spelling")
    assert platform.provision_services() == []
    with pytest.raises(NotFound):
        platform.endpoints.get("spelling")


def test_every_project_gets_its_own_services(platform):
    platform.provision_services()
    elsewhere = platform.in_project(ensure_project(platform.engine, "elsewhere"))
    assert elsewhere.provision_services() == ["spelling"]
    assert elsewhere.models.get("spelling").version == 1


def test_install_with_new_params_makes_a_new_champion_the_endpoint_follows(platform):
    platform.provision_services()
    first = platform.models.get("spelling")
    second = platform.install("lexicon", {"lexicon": {"grey": "gray"}}, model="spelling")
    assert (second.version, second.stage, second.parent_version_id) == (2, Stage.CHAMPION, first.id)
    assert platform.models.get("spelling", 1).stage == Stage.ARCHIVED
    route = platform.endpoints.route("spelling")
    assert platform.predictor(route.champion).predict([{"text": "grey colour"}]) == [{"text": "gray colour"}]


def test_install_without_promotion_leaves_a_candidate(platform):
    candidate = platform.install("lexicon", {}, promote=False)
    assert (candidate.model, candidate.stage) == ("lexicon", Stage.CANDIDATE)


def test_install_rejects_what_cannot_be_installed(platform):
    with pytest.raises(InvalidInput, match="not pretrained"):
        platform.install("baseline", {"target": "y"})
    with pytest.raises(InvalidInput, match="lexicon"):
        platform.install("lexicon", {"lexicon": ["a"]})
    with pytest.raises(KindNotFound):
        platform.install("no-such-kind", {})
    with pytest.raises(NotFound):
        platform.models.list("lexicon")


class _BrokenEngineKind(LexiconKind):
    name = "broken-engine"
    services = {"broken": {}}

    def install(self, params, workdir):
        raise RuntimeError("the engine's binary is missing")


def test_a_service_that_fails_to_install_does_not_keep_the_others_down(platform, caplog):
    platform.kinds.add(_BrokenEngineKind)
    assert platform.provision_services() == ["spelling"]
    assert "'broken'" in caplog.text and "could not be installed" in caplog.text
    with pytest.raises(NotFound):
        platform.models.list("broken")
