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
