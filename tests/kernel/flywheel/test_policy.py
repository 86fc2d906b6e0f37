"""Policies: defaults that work, errors that name the field, partial updates, durations."""

import pytest

from aiflywheel.errors import InvalidInput, NotFound
from aiflywheel.kernel.flywheel.events import EventType
from aiflywheel.kernel.flywheel.policy import FlywheelPolicy, merge, parse_duration, parse_policy


def test_the_defaults_are_a_working_policy():
    policy = FlywheelPolicy()
    assert policy.enabled and policy.triggers.every_n_labels == 200
    assert policy.promotion.approval == "auto" and policy.recipe.include_feedback


@pytest.mark.parametrize(
    "text, seconds", [(90, 90.0), ("90s", 90.0), ("30m", 1800.0), ("6h", 21600.0), ("1d", 86400.0), ("2w", 1209600.0)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "-5m", "0", True])
def test_bad_durations_are_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    "raw, named",
    [
        ({"triggers": {"every_n_labels": 0}}, "triggers.every_n_labels"),
        ({"triggers": {"schedule": "sometimes"}}, "triggers.schedule"),
        ({"promotion": {"approval": "maybe"}}, "promotion.approval"),
        ({"promotion": {"min_gian": 0.1}}, "promotion.min_gian"),
        ({"recipes": {}}, "recipes"),
        ({"promotion": {"online_share": 2}}, "promotion.online_share"),
    ],
)
def test_a_bad_policy_names_the_field(raw, named):
    with pytest.raises(InvalidInput, match=rf"invalid flywheel policy: {named}"):
        parse_policy(raw)


def test_merge_changes_only_what_is_given():
    current = FlywheelPolicy().model_dump(mode="json")
    merged = parse_policy(merge(current, {"triggers": {"schedule": "1d"}, "enabled": False}))
    assert merged.triggers.schedule == 86400.0 and merged.triggers.every_n_labels == 200 and not merged.enabled


def test_setting_a_policy_is_recorded_and_needs_an_endpoint(platform, tiny_model):
    with pytest.raises(NotFound, match="no endpoint named 'nope'"):
        platform.flywheel.set_policy("nope", {})
    platform.endpoints.deploy("tiny")
    with pytest.raises(NotFound, match="has no flywheel policy"):
        platform.flywheel.status("tiny")
    status = platform.flywheel.set_policy("tiny", {"triggers": {"every_n_labels": 5}})
    assert status.policy.triggers.every_n_labels == 5 and status.new_labels == 0 and status.job is None
    status = platform.flywheel.set_policy("tiny", {"promotion": {"min_gain": 0.01}})
    assert status.policy.triggers.every_n_labels == 5  # kept
    replaced = platform.flywheel.set_policy("tiny", {"promotion": {"min_gain": 0.01}}, replace=True)
    assert replaced.policy.triggers.every_n_labels == 200  # back to the default
    with pytest.raises(InvalidInput):
        platform.flywheel.set_policy("tiny", {"enabled": "perhaps"})
    assert platform.flywheel.status("tiny").policy.promotion.min_gain == 0.01  # a bad change changes nothing
    assert [e.type for e in platform.flywheel.history("tiny")] == [EventType.POLICY_SET] * 3
    platform.flywheel.delete_policy("tiny")
    with pytest.raises(NotFound):
        platform.flywheel.status("tiny")
    assert len(platform.flywheel.history("tiny")) == 3  # the history stays


def test_deleting_an_endpoint_deletes_its_policy(platform, tiny_model):
    platform.endpoints.deploy("tiny")
    platform.flywheel.set_policy("tiny", {})
    platform.endpoints.delete("tiny")
    platform.endpoints.deploy("tiny")
    with pytest.raises(NotFound):
        platform.flywheel.status("tiny")
