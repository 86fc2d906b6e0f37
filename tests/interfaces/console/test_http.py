"""The console over plain HTTP: sign-in, sessions, CSRF, roles, and bad input answered with a 4xx naming it."""

from __future__ import annotations

import html
import re

from aiflywheel.interfaces.console.forms import fields_from_schema, values_from_form
from aiflywheel.interfaces.console.session import COOKIE
from aiflywheel.interfaces.console.tryit import try_panel
from aiflywheel.interfaces.console.web import brief
from aiflywheel.kernel.keys import Keys

CSV = b"age,income,label\n31,1200.5,yes\n45,3300,no\n52,2100,yes\n"


def test_pages_need_a_signed_in_session(console):
    client = console.client()
    for path in ("/", "/datasets", "/training", "/models", f"/endpoints/{console.endpoint}", "/flywheel"):
        answer = client.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/sign-in?next=")
    assert client.get("/sign-in").status_code == 200


def test_sign_in_sets_an_httponly_samesite_cookie_and_never_stores_the_key(console):
    client = console.client()
    token = console.csrf_of(client.get("/sign-in").text)
    answer = client.post("/sign-in", data={"key": console.keys["admin"], "csrf_token": token, "next": "/models"})
    assert answer.status_code == 303 and answer.headers["location"] == "/models"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert console.keys["admin"].split("_")[-1] not in cookie  # the key's secret is never in the cookie
    page = client.get("/")
    assert page.status_code == 200 and "Overview" in page.text and ENDPOINT_IN(page.text, console.endpoint)
    # the token of the signed-out session is useless once signed in (the nonce changed)
    assert console.csrf_of(page.text) != token


def ENDPOINT_IN(html: str, name: str) -> bool:  # noqa: N802
    return f'href="/endpoints/{name}"' in html


def test_a_wrong_key_is_refused_by_name(console):
    client = console.client()
    token = console.csrf_of(client.get("/sign-in").text)
    wrong = client.post("/sign-in", data={"key": "fw_nothere_secret", "csrf_token": token})
    assert wrong.status_code == 401 and "unknown or revoked" in wrong.text
    malformed = client.post("/sign-in", data={"key": "hello", "csrf_token": token})
    assert malformed.status_code == 401 and "malformed" in malformed.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_sign_in_without_a_csrf_token_is_refused(console):
    client = console.client()
    client.get("/sign-in")
    answer = client.post("/sign-in", data={"key": console.keys["admin"]})
    assert answer.status_code == 403 and "CSRF" in answer.text


def test_the_next_page_after_sign_in_stays_on_this_server(console):
    client = console.client()
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        token = console.csrf_of(client.get("/sign-in").text)  # each sign-in replaces the session's token
        answer = client.post("/sign-in", data={"key": console.keys["admin"], "csrf_token": token, "next": target})
        assert answer.headers["location"] == "/"


def test_every_form_is_refused_without_the_session_csrf_token(console):
    client, token = console.signed_in()
    other, other_token = console.signed_in()
    before = len(console.platform.datasets.list())
    posts = [
        ("/datasets", {"name": "sneaky"}, {"file": ("a.csv", CSV, "text/csv")}),
        ("/training", {"kind": "tabular", "dataset": "demo-breast-cancer", "params.target": "diagnosis"}, None),
        (f"/endpoints/{console.endpoint}/routing", {"challenger_mode": "shadow"}, None),
        (f"/flywheel/{console.endpoint}/retrain", {}, None),
        ("/sign-out", {}, None),
    ]
    for path, data, files in posts:
        for forged in (None, "0" * 64, other_token):
            body = dict(data, **({"csrf_token": forged} if forged else {}))
            answer = client.post(path, data=body, files=files, headers={"accept": "application/json"})
            assert answer.status_code == 403, (path, forged, answer.text)
            assert answer.json()["error"]["code"] == "forbidden"
    assert len(console.platform.datasets.list()) == before
    assert console.platform.endpoints.get(console.endpoint).config.challenger_mode == "off"
    assert other.get("/").status_code == 200 and client.get("/").status_code == 200


def test_a_revoked_key_ends_its_sessions_at_once(console):
    keys = Keys(console.platform.engine)
    key, info = keys.create("writer", "default", "revoked in a test")
    console.keys["short-lived"] = key
    client, _ = console.signed_in("short-lived")
    assert client.get("/").status_code == 200
    keys.revoke(info.key_id)
    assert client.get("/").headers["location"].startswith("/sign-in")


def test_a_reader_can_look_but_not_change(console):
    client, token = console.signed_in("reader")
    assert client.get("/datasets").status_code == 200
    answer = client.post(
        "/datasets", data={"name": "nope", "csrf_token": token}, files={"file": ("a.csv", CSV, "text/csv")}
    )
    assert answer.status_code == 403 and "needs a key of role writer" in answer.text


def test_upload_makes_a_version_with_schema_and_preview(console):
    client, token = console.signed_in()
    answer = client.post("/datasets", data={"csrf_token": token}, files={"file": ("Loans 2024.csv", CSV, "text/csv")})
    assert answer.status_code == 303 and answer.headers["location"] == "/datasets/Loans-2024?version=1"
    page = client.get(answer.headers["location"]).text
    assert "Dataset Loans-2024:1" in page and "3 rows" in page and "numeric" in page and "3300" in page
    again = client.post(
        "/datasets",
        data={"csrf_token": token, "name": "Loans-2024"},
        files={"file": ("more.csv", CSV, "text/csv")},
        headers={"accept": "application/json"},
    )
    assert again.status_code == 201 and again.json()["version"] == 2


def test_bad_uploads_are_refused_naming_the_problem(console):
    client, token = console.signed_in()
    before = len(console.platform.datasets.list())
    cases = [
        ({"name": "empty"}, {"file": ("empty.csv", b"", "text/csv")}, "empty"),
        ({"name": "ragged"}, {"file": ("ragged.csv", b"a,b\n1,2\n3,4,5\n", "text/csv")}, "row"),
        ({"name": "strange"}, {"file": ("notes.xyz", b"hello", "application/octet-stream")}, "format"),
        ({"name": "bad name!"}, {"file": ("a.csv", CSV, "text/csv")}, "dataset name 'bad name!'"),
        ({"name": "nofile"}, None, "file: choose"),
    ]
    for data, files, named in cases:
        answer = client.post("/datasets", data={**data, "csrf_token": token}, files=files)
        assert 400 <= answer.status_code < 500, (data, answer.status_code)
        assert named in html.unescape(answer.text), (named, re.sub(r"\s+", " ", answer.text)[-800:])
        assert "Traceback" not in answer.text
    small, small_token = console.signed_in(max_upload_bytes=64)
    too_big = small.post(
        "/datasets", data={"csrf_token": small_token, "name": "big"}, files={"file": ("big.csv", CSV * 10, "text/csv")}
    )
    assert too_big.status_code == 413
    assert len(console.platform.datasets.list()) == before


def test_training_form_is_generated_from_the_params_schema_and_names_bad_fields(console):
    client, token = console.signed_in()
    page = client.get("/training?kind=tabular&dataset=demo-breast-cancer").text
    for control in ('name="params.target"', 'id="field-params-target"', 'list="dataset-columns"'):
        assert control in page
    assert '<label for="field-params-target">' in page
    missing = client.post("/training", data={"csrf_token": token, "kind": "tabular", "dataset": "demo-breast-cancer"})
    assert missing.status_code == 400 and "target" in missing.text
    number_fields = re.findall(r'type="number" id="field-(params-[a-z_]+)"', page)
    assert number_fields, "the tabular params have numeric fields"
    name = number_fields[0].replace("-", ".", 1)
    bad = client.post(
        "/training",
        data={
            "csrf_token": token,
            "kind": "tabular",
            "dataset": "demo-breast-cancer",
            "params.target": "diagnosis",
            name: "lots",
        },
    )
    assert bad.status_code == 400 and f"{name}: 'lots' is not a number" in html.unescape(bad.text)
    unknown = client.post("/training", data={"csrf_token": token, "kind": "no-such-kind", "dataset": "x"})
    assert unknown.status_code == 404 and "known kinds" in unknown.text


def test_try_it_predicts_through_the_endpoint_and_names_bad_json(console):
    client, token = console.signed_in()
    page = client.get(f"/endpoints/{console.endpoint}").text
    assert 'id="try-form"' in page and 'name="input.mean radius"' in page and 'name="input.diagnosis"' not in page
    fields = dict(re.findall(r'name="(input\.[^"]+)" value="([^"]*)"', page))
    answer = client.post(f"/endpoints/{console.endpoint}/try", data={"csrf_token": token, "mode": "form", **fields})
    assert answer.status_code == 200 and "Prediction by demo-breast-cancer:1" in answer.text
    prediction_id = re.search(r'name="prediction_id" value="([^"]+)"', answer.text).group(1)
    feedback = client.post(
        f"/endpoints/{console.endpoint}/feedback",
        data={"csrf_token": token, "prediction_id": prediction_id, "label": "benign"},
    )
    assert feedback.status_code == 200 and f"Feedback recorded for {prediction_id}" in feedback.text
    bad = client.post(
        f"/endpoints/{console.endpoint}/try", data={"csrf_token": token, "mode": "json", "instances_json": "[{oops"}
    )
    assert bad.status_code == 400 and "instances: not valid JSON" in bad.text
    empty = client.post(
        f"/endpoints/{console.endpoint}/try", data={"csrf_token": token, "mode": "json", "instances_json": "[]"}
    )
    assert empty.status_code == 400 and "at least one instance" in empty.text


def test_policy_form_saves_and_names_a_bad_field(console):
    client, token = console.signed_in()
    page = client.get(f"/flywheel/{console.endpoint}").text
    assert 'name="policy.promotion.min_samples"' in page and "<legend>Promotion</legend>" in page
    form = {
        "csrf_token": token,
        "policy.enabled": "true",
        "policy.promotion.min_samples": "7",
        "policy.triggers.every_n_labels": "",
    }
    saved = client.post(f"/flywheel/{console.endpoint}/policy", data=form)
    assert saved.status_code == 303
    policy = console.platform.flywheel.status(console.endpoint).policy
    assert policy.promotion.min_samples == 7 and policy.triggers.every_n_labels is None
    bad = client.post(f"/flywheel/{console.endpoint}/policy", data={**form, "policy.promotion.min_samples": "0"})
    assert bad.status_code == 400 and "promotion.min_samples" in bad.text


def test_no_page_loads_anything_from_the_internet(console):
    client, _ = console.signed_in()
    pages = [
        "/",
        "/datasets",
        "/training",
        "/models",
        "/models/demo-breast-cancer",
        "/endpoints",
        f"/endpoints/{console.endpoint}",
        "/flywheel",
        f"/flywheel/{console.endpoint}",
    ]
    for path in pages:
        html = client.get(path).text
        assert not re.search(r'(src|href)="(https?:)?//', html), path
    plotly = client.get("/static/vendor/plotly.min.js")
    assert plotly.status_code == 200 and plotly.headers["content-type"].startswith("text/javascript")
    assert client.get("/static/vendor/other.js").status_code == 404


def test_every_kind_gets_a_try_panel_and_the_richer_ones_their_own(console):
    for kind in console.platform.kinds.all():
        fields_from_schema(kind.input_schema, prefix="input.")  # any schema becomes controls (or none)
    panels = {kind.name: try_panel(kind.name) for kind in console.platform.kinds.all()}
    assert panels["tabular"] == "tryit/generic.html"
    assert panels["tts"] == "tryit/tts.html" and panels["asr"] == "tryit/asr.html"
    assert panels["bot"] == "tryit/bot.html" and panels["recommender"] == "tryit/recommender.html"
    assert {panels[name] for name in ("faces", "labels", "moderation", "text", "image-classifier")} == {
        f"tryit/{name}.html" for name in ("faces", "labels", "moderation", "text", "image-classifier")
    }


def test_an_id_that_may_be_a_string_or_a_number_is_a_text_control():
    schema = {"type": "object", "properties": {"user_id": {"type": ["string", "integer"]}, "n": {"type": "integer"}}}
    fields = fields_from_schema(schema, prefix="input.")
    assert [f.widget for f in fields] == ["text", "integer"]
    assert values_from_form(fields, {"input.user_id": "u7", "input.n": "3"}) == {"input": {"user_id": "u7", "n": 3}}


def test_conversation_turns_need_a_writer_and_a_conversational_endpoint(console):
    reader, token = console.signed_in("reader")
    turn = {"csrf_token": token, "mode": "form", "session_id": "console-test", "input.text": "hello"}
    answer = reader.post(f"/endpoints/{console.endpoint}/try", data=turn)
    assert answer.status_code == 403 and "needs a key of role writer" in answer.text
    writer, token = console.signed_in()
    answer = writer.post(f"/endpoints/{console.endpoint}/try", data={**turn, "csrf_token": token})
    assert answer.status_code == 400 and 'role="alert"' in answer.text


def test_an_empty_file_sent_to_a_try_panel_is_named(console):
    client, token = console.signed_in()
    # what a browser sends for a file control left empty: a part with an empty file name and no bytes
    body = (
        f'--edge\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
        '--edge\r\nContent-Disposition: form-data; name="input.scan"; filename=""\r\n'
        "Content-Type: application/octet-stream\r\n\r\n\r\n--edge--\r\n"
    )
    empty = client.post(
        f"/endpoints/{console.endpoint}/try",
        content=body.encode(),
        headers={"content-type": "multipart/form-data; boundary=edge"},
    )
    assert empty.status_code == 400 and "scan: choose a file" in empty.text
    # an empty file is named by its file name (and a script asking for JSON gets the JSON error)
    unnamed = client.post(
        f"/endpoints/{console.endpoint}/try",
        data={"csrf_token": token, "mode": "form"},
        files={"input.scan": ("notes.txt", b"", "text/plain")},
        headers={"accept": "application/json"},
    )
    assert unnamed.status_code == 400 and "scan: the file 'notes.txt' is empty" in unnamed.json()["error"]["message"]


def test_long_values_are_cut_when_shown_in_a_page():
    audio = "UklGR" + "A" * 5000
    shown = brief({"audio": audio, "words": [{"word": "hi", "start_ms": 0}], "n": 3})
    assert shown["audio"].startswith("UklGR") and shown["audio"].endswith("(5,005 characters)")
    assert len(shown["audio"]) < 200 and shown["words"] == [{"word": "hi", "start_ms": 0}] and shown["n"] == 3
