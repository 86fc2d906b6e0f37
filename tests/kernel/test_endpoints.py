import pytest

from aiflywheel.errors import Conflict, InvalidInput, NotFound
from aiflywheel.kernel.endpoints import EndpointConfig
from aiflywheel.kernel.projects import ensure_project
from aiflywheel.kernel.registry import Stage


def test_deploy_makes_the_latest_version_champion_and_serves_it(platform, tiny_model):
    endpoint = platform.endpoints.deploy("tiny")
    assert (endpoint.name, endpoint.model, endpoint.kind) == ("tiny", "tiny", "baseline")
    assert endpoint.config == EndpointConfig()
    route = platform.endpoints.route("tiny")
    assert route.champion.ref == "tiny:1" and route.champion.stage == Stage.CHAMPION and route.challenger is None


def test_deploy_a_version_promotes_it_and_keeps_the_config(platform, tiny_model, retrain):
    platform.endpoints.deploy("tiny", "svc", config={"max_batch_size": 8})
    second = retrain()
    assert platform.endpoints.route("svc").champion.version == 1, "a new version does not take over by itself"
    updated = platform.endpoints.deploy("tiny", "svc", version=second.version, config={"challenger_mode": "shadow"})
    assert (updated.config.max_batch_size, updated.config.challenger_mode) == (8, "shadow")
    assert platform.endpoints.route("svc").champion.version == 2
    assert platform.models.get("tiny", 1).stage == Stage.ARCHIVED


def test_an_endpoint_follows_promotions(platform, tiny_model, retrain):
    platform.endpoints.deploy("tiny")
    second = retrain()
    platform.models.promote("tiny", second.version, Stage.CHALLENGER)
    route = platform.endpoints.route("tiny")
    assert (route.champion.version, route.challenger.version) == (1, 2)
    platform.models.promote("tiny", second.version)
    assert platform.endpoints.route("tiny").champion.version == 2


def test_configure_validates_and_names_the_field(platform, tiny_model):
    platform.endpoints.deploy("tiny")
    changed = platform.endpoints.configure("tiny", {"challenger_mode": "split", "challenger_share": 0.5})
    assert (changed.config.challenger_mode, changed.config.challenger_share) == ("split", 0.5)
    assert changed.updated_at >= changed.created_at
    with pytest.raises(InvalidInput, match=r"challenger_share.*1.5"):
        platform.endpoints.configure("tiny", {"challenger_share": 1.5})
    with pytest.raises(InvalidInput, match="colour"):
        platform.endpoints.configure("tiny", {"colour": "red"})
    assert platform.endpoints.get("tiny").config.challenger_share == 0.5, "a refused change changes nothing"


def test_list_get_and_delete(platform, tiny_model):
    platform.endpoints.deploy("tiny", "b")
    platform.endpoints.deploy("tiny", "a")
    assert [e.name for e in platform.endpoints.list()] == ["a", "b"]
    platform.endpoints.delete("a")
    assert [e.name for e in platform.endpoints.list()] == ["b"]
    with pytest.raises(NotFound, match="no endpoint named 'a'"):
        platform.endpoints.get("a")
    with pytest.raises(NotFound):
        platform.endpoints.delete("a")


def test_refusals(platform, tiny_model):
    with pytest.raises(NotFound):
        platform.endpoints.deploy("nope")
    with pytest.raises(InvalidInput):
        platform.endpoints.deploy("tiny", "not a name")
    with pytest.raises(InvalidInput, match="max_batch_size"):
        platform.endpoints.deploy("tiny", config={"max_batch_size": 0})
    platform.endpoints.deploy("tiny")
    platform.models.archive("tiny", 1)
    with pytest.raises(Conflict, match="no champion"):
        platform.endpoints.route("tiny")


def test_endpoints_belong_to_one_project(platform, tiny_model):
    platform.endpoints.deploy("tiny")
    other = platform.in_project(ensure_project(platform.engine, "other"))
    assert other.endpoints.list() == []
    with pytest.raises(NotFound):
        other.endpoints.get("tiny")
    with pytest.raises(NotFound):
        other.endpoints.deploy("tiny")
