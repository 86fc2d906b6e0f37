import dataclasses
import warnings
from importlib.metadata import EntryPoint

import pytest

from aiflywheel.errors import InvalidInput, KindNotFound
from aiflywheel.kernel.kinds import KindRegistry, _lazy, parse_params
from aiflywheel.testing import BaselineKind, LexiconKind, check_kind
from aiflywheel.testing.conformance import ConformanceError


def test_our_kinds_come_from_entry_points():
    registry = KindRegistry.from_entry_points()
    assert "tabular" in registry.names()
    assert registry.get("tabular") is registry.get("tabular"), "a kind is instantiated once"


def test_an_unknown_kind_lists_the_known_ones():
    with pytest.raises(KindNotFound, match="known kinds: .*tabular"):
        KindRegistry.from_entry_points().get("nope")


def test_a_broken_plugin_warns_and_does_not_break_the_others():
    registry = KindRegistry({"baseline": BaselineKind})
    registry._factories["broken"] = _lazy(EntryPoint("broken", "no_such_module:Kind", "aiflywheel.kinds"))
    with pytest.warns(UserWarning, match="'broken'.*failed to load"):
        assert [k.name for k in registry.all()] == ["baseline"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(KindNotFound, match="failed to load"):
            registry.get("broken")


def test_parameter_errors_name_field_and_value():
    with pytest.raises(InvalidInput, match=r"sleep_seconds: .*greater than or equal to 0 \(got -1\)"):
        parse_params(BaselineKind(), {"target": "y", "sleep_seconds": -1})
    with pytest.raises(InvalidInput, match="target: Field required"):
        parse_params(BaselineKind(), {})


def test_the_reference_kind_conforms(tmp_path):
    metrics = check_kind(BaselineKind(), workdir=tmp_path)
    assert metrics["accuracy"] == pytest.approx(20 / 30)


@pytest.mark.slow
@pytest.mark.parametrize("name", KindRegistry.from_entry_points().names())
def test_every_registered_kind_conforms(name, tmp_path):
    check_kind(KindRegistry.from_entry_points().get(name), workdir=tmp_path)


def test_the_pretrained_reference_kind_conforms(tmp_path):
    assert check_kind(LexiconKind(), workdir=tmp_path) == {}


class _ServicelessKind(LexiconKind):
    services = None


class _BadServiceParamsKind(LexiconKind):
    services = {"spelling": {"lexicon": "not a mapping"}}


class _UntrainableWithoutPretrainingKind(BaselineKind):
    @classmethod
    def example(cls):
        return dataclasses.replace(BaselineKind.example(), train=None)


@pytest.mark.parametrize(
    ("kind", "rule"),
    [
        (_ServicelessKind(), "needs services and install"),
        (_BadServiceParamsKind(), "invalid parameters"),
        (_UntrainableWithoutPretrainingKind(), "only a pretrained kind"),
    ],
)
def test_conformance_names_what_a_pretrained_kind_breaks(kind, rule, tmp_path):
    with pytest.raises((ConformanceError, InvalidInput), match=rule):
        check_kind(kind, workdir=tmp_path)
