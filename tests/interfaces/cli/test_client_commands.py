"""``flywheel predict`` and ``feedback``: reading --input, decoding values, and errors without a server.

Against a live server they run in ``tests/interfaces/sdk/test_end_to_end.py``.
"""

import json
import socket

import pytest

from aiflywheel.errors import InvalidInput
from aiflywheel.interfaces.cli import main
from aiflywheel.interfaces.cli.client_commands import decode, read_instances, summary


@pytest.fixture
def flywheel(capsys):
    def run(*args: str) -> tuple[int, str, str]:
        try:
            main(list(args))
            code = 0
        except SystemExit as exit:
            code = exit.code or 0
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


ROWS = [{"Make": "Honda", "Age": 31}, {"Make": "Toyota", "Age": 45}]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("one.json", json.dumps(ROWS[0])),
        ("list.json", json.dumps(ROWS)),
        ("wrapped.json", json.dumps({"instances": ROWS})),
        ("rows.jsonl", "\n".join(json.dumps(row) for row in ROWS) + "\n\n"),
    ],
)
def test_input_files(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    expected = ROWS[:1] if name == "one.json" else ROWS
    assert read_instances(str(path)) == expected


def test_inline_input():
    assert read_instances(json.dumps(ROWS)) == ROWS
    assert read_instances(' {"Age": 3}') == [{"Age": 3}]
    assert read_instances('{"instances": [{"a": 1}]}') == [{"a": 1}]
    assert read_instances('{"instances": [{"a": 1}], "other": 2}') == [{"instances": [{"a": 1}], "other": 2}]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{not json", "--input is not valid JSON"),
        ("[]", "holds no instances"),
        ("no-such-file.json", "neither a file nor JSON"),
    ],
)
def test_bad_inline_input(text, words):
    with pytest.raises(InvalidInput, match=words):
        read_instances(text)


def test_bad_input_files_are_named(tmp_path):
    broken = tmp_path / "rows.jsonl"
    broken.write_text('{"a": 1}\n{oops}\n')
    with pytest.raises(InvalidInput, match=r"rows.jsonl line 2 is not valid JSON"):
        read_instances(str(broken))
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(InvalidInput, match="holds no instances"):
        read_instances(str(empty))
    scalar = tmp_path / "scalar.json"
    scalar.write_text("3")
    with pytest.raises(InvalidInput, match="holds no instances"):
        read_instances(str(scalar))


@pytest.mark.parametrize(
    ("raw", "value"),
    [("1", 1), ("0.5", 0.5), ("true", True), ("benign", "benign"), ('"1"', "1"), ('{"paid": 3}', {"paid": 3})],
)
def test_values_are_json_if_they_parse(raw, value):
    assert decode(raw) == value and type(decode(raw)) is type(value)


def test_a_prediction_in_one_line():
    assert summary({"label": "benign", "score": 0.0312345, "probabilities": {"a": 1}}) == "label=benign score=0.03123"
    assert summary({"probabilities": {"a": 1}}) == '{"probabilities": {"a": 1}}'
    assert summary(3) == "3"


def test_without_a_key_the_command_says_how_to_get_one(flywheel):
    code, _, err = flywheel("predict", "claims", "--input", "{}")
    assert code == 1 and "error: no API key for http://127.0.0.1:8080" in err and "--api-key" in err


def test_an_unreachable_server_is_one_line(flywheel):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    code, out, err = flywheel("--url", url, "--api-key", "fw_a_b", "predict", "claims", "--input", '{"a": 1}')
    assert code == 1 and out == "" and err.startswith(f"error: cannot reach Flywheel at {url}")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1

    code, _, err = flywheel("--url", url, "--api-key", "fw_a_b", "feedback", "pr_1", "--event-id", "e", "--label", "1")
    assert code == 1 and "cannot reach Flywheel" in err


def test_feedback_takes_exactly_one_value(flywheel, monkeypatch):
    monkeypatch.setenv("FLYWHEEL_API_KEY", "fw_a_b")
    code, _, err = flywheel("feedback", "pr_1", "--event-id", "e")
    assert code == 1 and "exactly one of --label, --outcome or --reward (got none)" in err
    code, _, err = flywheel("feedback", "pr_1", "--event-id", "e", "--label", "1", "--reward", "0")
    assert code == 1 and "(got --label, --reward)" in err


def test_bad_input_is_refused_before_calling(flywheel):
    code, _, err = flywheel("--api-key", "fw_a_b", "predict", "claims", "--input", "missing.json")
    assert code == 1 and "neither a file nor JSON" in err
