"""User-supplied translation models: CTranslate2, Marian (converted at install), Bergamot; a folder or an archive."""

from __future__ import annotations

import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest
from tests.kinds.translation_models import (
    SENTENCES,
    bergamot_model,
    ctranslate2_model,
    library_translation,
    marian_model,
)

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.kinds import parse_params
from aiflywheel.kinds.translator import TranslatorKind
from aiflywheel.kinds.translator.segments import match_edges

GERMAN = SENTENCES[:3]


@pytest.fixture(scope="module")
def kind() -> TranslatorKind:
    return TranslatorKind()


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("user-models")
    marian = marian_model(root / "marian")
    ct2 = ctranslate2_model(marian, root / "ct2")
    with tarfile.open(root / "ct2.tar.gz", "w:gz") as archive:
        archive.add(ct2, arcname="en-de-model")  # one top folder, as people pack them
    with zipfile.ZipFile(root / "marian.zip", "w") as archive:
        for path in marian.iterdir():
            archive.write(path, path.name)
    # OPUS-MT's layout: decoder.yml names the weights and vocabularies; a SentencePiece model per side.
    opus = root / "opus"
    opus.mkdir()
    shutil.copyfile(marian / "model.npz", opus / "opus.npz")
    shutil.copyfile(marian / "vocab.yml", opus / "opus.vocab.yml")
    for side in ("source", "target"):
        shutil.copyfile(marian / "spm.model", opus / f"{side}.spm")
    (opus / "decoder.yml").write_text("models:\n  - opus.npz\nvocabs:\n  - opus.vocab.yml\n  - opus.vocab.yml\n")
    return {
        "marian": marian,
        "ct2": ct2,
        "ct2.tar.gz": root / "ct2.tar.gz",
        "marian.zip": root / "marian.zip",
        "opus": opus,
    }


def install(kind: TranslatorKind, folder: Path, *models: dict):
    result = kind.install(parse_params(kind, {"models": list(models)}), folder)
    return result, kind.load(folder)


@pytest.mark.parametrize("given", ["ct2", "ct2.tar.gz", "marian", "marian.zip", "opus"])
def test_a_users_model_serves_its_pair_exactly_as_the_library_translates(kind, models, tmp_path, given):
    model = {"source": "en", "target": "de", "path": str(models[given])}
    result, predictor = install(kind, tmp_path / "version", model)
    pairs = {(p["source"], p["target"]): p["engine"] for p in result.summary["pairs"]}
    assert pairs[("en", "de")] == "ctranslate2" and pairs[("en", "pt")] == "neural"
    answers = predictor.predict([{"text": s, "source": "en", "target": "de"} for s in GERMAN])
    expected = library_translation(models["ct2"], models["marian"] / "spm.model", GERMAN, beam_size=4)
    assert [a["text"] for a in answers] == [match_edges(s, e) for s, e in zip(GERMAN, expected, strict=True)]
    assert all(a["engine"] == "ctranslate2" and a["text"] for a in answers)
    # The shipped pairs still work beside it, and "auto" now considers English for German.
    assert predictor.predict([{"text": "Good morning.", "target": "pt"}])[0]["engine"] == "neural"
    assert predictor.predict([{"text": "where is the train station", "target": "de"}])[0]["source"] == "en"


def test_the_version_holds_its_own_copy_and_beam_size_is_a_param(kind, models, tmp_path):
    source = tmp_path / "upload"
    shutil.copytree(models["marian"], source)
    install(kind, tmp_path / "version", {"source": "en", "target": "de", "path": str(source), "beam_size": 1})
    shutil.rmtree(source)  # the user's files may go away: the version does not need them
    shutil.copytree(tmp_path / "version", tmp_path / "moved")
    predictor = kind.load(tmp_path / "moved")
    greedy = library_translation(models["ct2"], models["marian"] / "spm.model", GERMAN, beam_size=1)
    answers = predictor.predict([{"text": s, "source": "en", "target": "de"} for s in GERMAN])
    assert [a["text"] for a in answers] == [match_edges(s, e) for s, e in zip(GERMAN, greedy, strict=True)]


def test_a_bergamot_model_wins_over_the_shipped_engine_for_its_pair(kind, tmp_path):
    folder = bergamot_model(tmp_path / "pten")
    result, predictor = install(kind, tmp_path / "version", {"source": "pt", "target": "en", "path": str(folder)})
    assert {(p["source"], p["target"]): p["engine"] for p in result.summary["pairs"]}[("pt", "en")] == "bergamot"
    answer = predictor.predict([{"text": "Onde fica a estação de trem?", "source": "pt", "target": "en"}])[0]
    assert answer["engine"] == "bergamot" and "station" in answer["text"].lower()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root, models: root / "missing", "neither a directory nor a file"),
        (lambda root, models: root, "no translation model found"),
        (lambda root, models: _file(root / "notes.txt", b"hello"), "not a directory or an archive"),
        (lambda root, models: _file(root / "model.tar.gz", b"not gzip"), "cannot be unpacked"),
        (lambda root, models: _without(models["marian"], root / "m", "spm.model"), "SentencePiece"),
        (lambda root, models: _without(models["marian"], root / "m", "vocab.yml"), "shared vocabulary .yml"),
        (lambda root, models: _broken(models["ct2"], root / "c"), "does not load or translate"),
    ],
)
def test_bad_model_files_are_4xx_naming_the_field(kind, models, tmp_path, make, message):
    (tmp_path / "files").mkdir()
    path = make(tmp_path / "files", models)
    with pytest.raises(InvalidInput, match=r"models\[0\]\.path") as raised:
        install(kind, tmp_path / "version", {"source": "en", "target": "de", "path": str(path)})
    assert message in str(raised.value)


def test_bad_model_params_are_4xx(kind, models):
    one = {"source": "en", "target": "de", "path": str(models["ct2"])}
    with pytest.raises(InvalidInput, match="one model per language pair"):
        parse_params(kind, {"models": [one, one]})
    with pytest.raises(InvalidInput, match="source"):
        parse_params(kind, {"models": [{**one, "source": "English"}]})
    with pytest.raises(InvalidInput, match="beam_size"):
        parse_params(kind, {"models": [{**one, "beam_size": 0}]})
    with pytest.raises(InvalidInput, match="format is 'bergamot'"):
        kind.install(parse_params(kind, {"models": [{**one, "format": "bergamot"}]}), Path("/nonexistent/never"))


def _file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _without(folder: Path, copy: Path, name: str) -> Path:
    shutil.copytree(folder, copy)
    (copy / name).unlink()
    return copy


def _broken(folder: Path, copy: Path) -> Path:
    shutil.copytree(folder, copy)
    (copy / "model.bin").write_bytes(b"\0" * 64)
    return copy


def test_a_memory_retrain_keeps_the_users_model_and_its_pair(kind, models, tmp_path, training_data, progress):
    import pyarrow as pa

    params = parse_params(kind, {"models": [{"source": "en", "target": "de", "path": str(models["marian.zip"])}]})
    rows = {"source_text": ["good morning my friend"], "target_text": ["guten Morgen mein Freund"]}
    table = pa.table({**rows, "source_language": ["en"], "target_language": ["de"]})
    result = kind.train(training_data(table, tmp_path / "data"), params, progress, tmp_path / "model")
    assert (
        result.metrics["n_memory"] == 1
        and {"source": "en", "target": "de", "engine": "ctranslate2"} in (result.summary["pairs"])
    )
    predictor = kind.load(tmp_path / "model")
    remembered, new = predictor.predict(
        [{"text": "good morning my friend", "target": "de"}, {"text": "where is the train station", "target": "de"}]
    )
    assert remembered["text"] == "guten Morgen mein Freund" and remembered["engine"] == "memory"
    assert new["engine"] == "ctranslate2"
