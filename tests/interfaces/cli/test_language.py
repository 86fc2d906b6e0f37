"""``flywheel translate`` / ``flywheel analyze`` against the built-in services, and a document translated as a job."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from aiflywheel import Client
from aiflywheel.interfaces.cli import language as language_command
from aiflywheel.interfaces.rest import create_app
from aiflywheel.kernel.keys import Keys, Role
from aiflywheel.kernel.kinds import KindRegistry
from aiflywheel.kernel.platform import Platform
from aiflywheel.kernel.serving import Serving
from aiflywheel.kernel.worker import execute
from aiflywheel.settings import Settings
from aiflywheel.testing import run_cli


@pytest.fixture(scope="module")
def served(tmp_path_factory, module_store_url):
    home = tmp_path_factory.mktemp("language") / "home"
    settings = Settings.build(home=home, store=module_store_url, executor="thread", workers=1, environ={})
    kinds = KindRegistry()
    registry = KindRegistry.from_entry_points()
    for name in ("translator", "analyzer"):
        kinds.add(type(registry.get(name)))
    platform = Platform(settings, kinds)
    assert sorted(platform.provision_services()) == ["analyze", "translate"]
    serving = Serving(
        platform.engine, platform.artifacts, platform.kinds, home / "cache" / "models", platform.prediction_log.start()
    )
    http = TestClient(create_app(platform, serving), raise_server_exceptions=False)
    sdk = Client("http://flywheel.test", Keys(platform.engine).create(Role.ADMIN, "default")[0], http=http)
    yield platform, sdk
    sdk.close()
    http.close()
    serving.close()
    platform.close()


@pytest.fixture
def cli(served, monkeypatch, capsys):
    monkeypatch.setattr(language_command, "client", lambda ctx: served[1])
    return lambda *args: run_cli(capsys, *args)


def test_translate_prints_the_translation_and_its_prediction_id(cli):
    code, out, err = cli("translate", "Where is the nearest train station?", "--to", "pt")
    assert code == 0, err
    assert "estação" in out and "en->pt by neural" in out and "prediction id pr_" in out
    code, out, err = cli("translate", "Onde fica a estação?", "--to", "en", "--json")
    assert code == 0 and json.loads(out)["predictions"][0]["source"] == "pt"


def test_language_pairs_lists_each_pair_with_its_engine(cli):
    code, out, err = cli("language-pairs")
    assert code == 0, err
    assert "en" in out and "pt" in out and "neural" in out
    code, out, err = cli("language-pairs", "--json")
    assert code == 0 and {"source": "en", "target": "pt", "engine": "neural"} in json.loads(out)
    code, out, err = cli("language-pairs", "--endpoint", "analyze")
    assert code != 0 and "not a translator" in err + out


def test_analyze_prints_every_part(cli):
    code, out, err = cli("analyze", "Great phone! Mail ana@example.com today.")
    assert code == 0, err
    assert "positive" in out and "[EMAIL]" in out and "language" in out


def test_errors_are_one_line_naming_the_field(cli):
    code, out, err = cli("translate", "Hello there", "--to", "ja")
    assert code == 1 and "'target'" in err
    code, out, err = cli("analyze", "   ")
    assert code == 1 and "empty" in err


def test_a_document_is_translated_as_a_batch_job(served, tmp_path):
    platform, _ = served
    paragraphs = ["# Manual", "Open the box carefully.", "Plug the cable into the wall.\nPress the red button."]
    source = tmp_path / "manual.jsonl"
    source.write_text("".join(json.dumps({"text": p, "target": "pt"}) + "\n" for p in paragraphs))
    platform.datasets.create("manual", source)
    job = platform.batch_predict("translate", "manual", output="manual-pt")
    execute(platform, platform.all_jobs().claim("tests:1", job_id=job.id))
    table = platform.datasets.training_data(platform.datasets.version("manual-pt")).to_pandas()
    translated = table["predicted_text"].tolist()
    assert translated[0].startswith("# ") and "caixa" in translated[1] and translated[2].count("\n") == 1
