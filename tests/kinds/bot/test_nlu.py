"""The intent classifier's pieces: TF-IDF by hand equal to scikit-learn's, calibration, saving and loading."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import sparse

from aiflywheel.errors import KindFailed
from aiflywheel.kinds.bot.definition import load_definition
from aiflywheel.kinds.bot.example import demo_definition
from aiflywheel.kinds.bot.kind import utterances
from aiflywheel.kinds.bot.nlu import LEXICONS, IntentClassifier, Lexicon, _vectorizer
from aiflywheel.kinds.components.embeddings import text_embedder


def test_the_hand_made_transform_gives_scikit_learns_numbers():
    texts, _ = utterances(load_definition(demo_definition()))
    fitted, unseen = texts[::2], [*texts[1::2], "a word never seen", ""]
    mine = Lexicon.fit(fitted).transform(unseen).toarray()
    reference = sparse.hstack([_vectorizer(item).fit(fitted).transform(unseen) for item in LEXICONS]).toarray()
    assert mine.shape == reference.shape
    np.testing.assert_allclose(mine, reference, atol=1e-12)


def test_a_saved_classifier_ranks_as_the_trained_one_and_an_old_file_is_refused(tmp_path):
    texts, intents = utterances(load_definition(demo_definition()))
    classifier = IntentClassifier(text_embedder().embed).fit(texts, intents)
    assert 0.01 < classifier.temperature_ < 10  # calibrated on out-of-fold margins, within its bounds
    assert classifier.cross_validated_accuracy_ > 0.8
    questions = ["can i get two burgers", "when do you close", "what is the capital of peru"]
    classifier.save(tmp_path)
    loaded = IntentClassifier.load(tmp_path, text_embedder().embed)
    assert loaded.rank(questions) == classifier.rank(questions)
    assert [answer.intent for answer in loaded.rank(questions)] == ["order_food", "opening_hours", None]

    settings = json.loads((tmp_path / "classifier.json").read_text())
    del settings["format"]  # what the first version wrote
    (tmp_path / "classifier.json").write_text(json.dumps(settings))
    with pytest.raises(KindFailed, match="older Flywheel .* create or retrain the bot again"):
        IntentClassifier.load(tmp_path, text_embedder().embed)
