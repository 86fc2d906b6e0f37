"""The shared sentence-embedding component: real vectors from the bundled model, loaded once."""

from __future__ import annotations

import numpy as np

from aiflywheel.kinds.components import embeddings


def test_it_is_installed_and_loaded_once_per_process():
    assert embeddings.available()
    assert embeddings.text_embedder() is embeddings.text_embedder()


def test_paraphrases_are_close_and_unrelated_texts_are_not():
    vectors = embeddings.text_embedder().embed(
        [
            "I love my new guitar",
            "The guitar I just bought is great",
            "Stock markets fell sharply today",
            "Reset your password with the link we sent",
            "Forgot my login credentials",
        ]
    )
    assert vectors.shape == (5, embeddings.DIMENSION) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > 0.7 and abs(similarity[0, 2]) < 0.2
    assert similarity[3, 4] > similarity[3, 0] + 0.3


def test_batches_do_not_change_the_vectors_and_empty_text_is_zero():
    texts = [f"item number {n}: a {'very ' * n}long description" for n in range(20)] + ["", "  "]
    embedder = embeddings.text_embedder()
    whole = embedder.embed(texts, batch_size=8)  # three batches, each padded to its own longest text
    one_by_one = np.vstack([embedder.embed([text]) for text in texts[:5]])
    assert np.allclose(whole[:5], one_by_one, atol=1e-4), "padding in a batch must not move a vector"
    assert not whole[-2:].any()
    assert embedder.embed([]).shape == (0, embeddings.DIMENSION)
