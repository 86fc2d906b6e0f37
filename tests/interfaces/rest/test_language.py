"""The language services at first start: ``translate`` and ``analyze`` through the standard invocations route."""

from __future__ import annotations


def test_translate_and_analyze_are_served_at_first_start(world):
    created = world.platform.provision_services()
    assert {"translate", "analyze"} <= set(created)

    translated = world.invoke(
        "reader", [{"text": "Where is the nearest train station?", "source": "auto", "target": "pt"}], "translate"
    )
    assert translated.status_code == 200, translated.text
    [prediction] = translated.json()["predictions"]
    assert prediction["source"] == "en" and "estação" in prediction["text"]

    analyzed = world.invoke("reader", [{"text": "I love this phone! Mail me at ana@example.com."}], "analyze")
    assert analyzed.status_code == 200, analyzed.text
    [analysis] = analyzed.json()["predictions"]
    assert analysis["language"] == "en" and analysis["sentiment"]["label"] == "positive"
    assert [p["type"] for p in analysis["pii"]] == ["email"] and set(analysis) >= {"entities", "key_phrases"}


def test_bad_language_requests_are_400_naming_the_field(world):
    world.platform.provision_services()
    empty = world.invoke("reader", [{"text": "  ", "target": "pt"}], "translate")
    assert empty.status_code == 400 and "'text' is empty" in empty.json()["error"]["message"]
    unsupported = world.invoke("reader", [{"text": "Hello there.", "target": "ja"}], "translate")
    assert unsupported.status_code == 400 and "'target'" in unsupported.json()["error"]["message"]
    too_long = world.invoke("reader", [{"text": "word " * 2000}], "analyze")
    assert too_long.status_code == 400 and "max_chars" in too_long.json()["error"]["message"]


def test_terminology_is_a_param_of_a_new_version(world):
    world.platform.provision_services()
    body = {"kind": "translator", "params": {"terminology": [{"source": "station", "target": "rodoviária"}]}}
    installed = world.call("writer", "POST", "/v1/models/translate/install", json=body)
    assert installed.status_code == 201 and installed.json()["stage"] == "champion"
    answer = world.invoke("reader", [{"text": "Where is the station?", "target": "pt"}], "translate")
    [prediction] = answer.json()["predictions"]
    assert "rodoviária" in prediction["text"] and prediction["terms"][0]["applied"]


def test_the_pairs_of_a_translation_endpoint_with_their_engines(world, tmp_path):
    from tests.kinds.translation_models import marian_model

    world.platform.provision_services()
    listed = world.call("reader", "GET", "/v1/endpoints/translate/pairs")
    assert listed.status_code == 200, listed.text
    engines = {(p["source"], p["target"]): p["engine"] for p in listed.json()["pairs"]}
    assert engines[("en", "pt")] == "neural" and engines[("pt", "en")] == "neural"

    # A user's Marian model for en->de, installed from a file as the next version of the endpoint's model.
    model = {"source": "en", "target": "de", "path": str(marian_model(tmp_path / "marian"))}
    body = {"kind": "translator", "params": {"models": [model]}}
    installed = world.call("writer", "POST", "/v1/models/translate/install", json=body)
    assert installed.status_code == 201, installed.text
    world.serving.forget_routes()
    listed = world.call("reader", "GET", "/v1/endpoints/translate/pairs").json()
    assert listed["model_version"] == f"translate:{installed.json()['version']}"
    assert {(p["source"], p["target"]): p["engine"] for p in listed["pairs"]}[("en", "de")] == "ctranslate2"
    answer = world.invoke("reader", [{"text": "good morning my friend", "source": "en", "target": "de"}], "translate")
    assert answer.status_code == 200 and answer.json()["predictions"][0]["engine"] == "ctranslate2"

    missing = world.call("reader", "GET", "/v1/endpoints/nowhere/pairs")
    assert missing.status_code == 404
    not_translator = world.call("reader", "GET", "/v1/endpoints/analyze/pairs")
    assert not_translator.status_code == 400 and "not a translator" in not_translator.json()["error"]["message"]
    bad_file = {"kind": "translator", "params": {"models": [{**model, "path": str(tmp_path / "nothing")}]}}
    refused = world.call("writer", "POST", "/v1/models/translate/install", json=bad_file)
    assert refused.status_code == 400 and "models[0].path" in refused.json()["error"]["message"]
