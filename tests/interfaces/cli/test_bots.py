"""``flywheel bots create``, ``flywheel chat`` and ``flywheel bots unrecognised`` as a user drives them."""

import io
import json

import pytest
import yaml

from aiflywheel.kinds.bot.example import demo_definition

from .conftest import run_flywheel


@pytest.fixture
def flywheel(tmp_path, store_url, capsys, monkeypatch):
    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        return run_flywheel(tmp_path / "home", store_url, capsys, *args)

    return run


def test_create_chat_and_resume_a_session(flywheel, tmp_path):
    definition = tmp_path / "food.yaml"
    definition.write_text(yaml.safe_dump(demo_definition()))
    code, out, err = flywheel("bots", "create", "food", str(definition))
    assert code == 0, err
    assert "served at endpoint food" in out

    code, out, err = flywheel("chat", "food", "--session", "s1", stdin="i want two pizzas\n\n")
    assert code == 0, err
    assert "When should we deliver it?" in out
    # Another process (another command) carries on the same session from the store.
    code, out, _ = flywheel("chat", "food", "--session", "s1", "--debug", stdin="at 7pm\n")
    assert "Shall I place the order?" in out and "ConfirmIntent" in out

    flywheel("chat", "food", stdin="will it rain today\nis it going to rain tomorrow\n")
    code, out, _ = flywheel("bots", "unrecognised", "food", "--json")
    assert code == 0 and json.loads(out)[0]["count"] == 2


def test_a_bad_definition_exits_1_naming_the_field(flywheel, tmp_path):
    document = demo_definition()
    document["intents"][0]["slots"][0]["type"] = "colour"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(document))
    code, _, err = flywheel("bots", "create", "food", str(bad))
    assert code == 1 and "intents[0].slots[0].type" in err
    code, _, err = flywheel("bots", "create", "food", str(tmp_path / "missing.yaml"))
    assert code == 1 and "cannot read the definition" in err
    code, _, err = flywheel("chat", "nobot", stdin="hi\n")
    assert code == 1 and "nobot" in err
