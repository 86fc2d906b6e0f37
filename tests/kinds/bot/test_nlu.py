"""The intent classifier's pieces: TF-IDF by hand equal to scikit-learn's, calibration, saving and loading."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import sparse
from tests.kinds.bot.conftest import Quiet, utterance_data

from aiflywheel.errors import KindFailed
from aiflywheel.kinds.bot import BotKind, nlu
from aiflywheel.kinds.bot.definition import load_definition
from aiflywheel.kinds.bot.example import demo_definition
from aiflywheel.kinds.bot.kind import utterances
from aiflywheel.kinds.bot.nlu import LEXICONS, IntentClassifier, Lexicon, LinearHead, _vectorizer
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
    assert 0.01 < classifier.lexical_temperature_ < 10
    assert classifier.lexical_temperature_ != nlu.DEFAULT_LEXICAL_TEMPERATURE  # calibrated too, not the default
    assert classifier.cross_validated_accuracy_ > 0.8
    questions = ["can i get two burgers", "when do you close", "what is the capital of peru"]
    classifier.save(tmp_path)
    loaded = IntentClassifier.load(tmp_path, text_embedder().embed)
    assert loaded.rank(questions) == classifier.rank(questions)
    assert loaded.lexical_temperature_ == classifier.lexical_temperature_
    np.testing.assert_array_equal(loaded.head_.lexical_weights, classifier.head_.lexical_weights)
    assert [answer.intent for answer in loaded.rank(questions)] == ["order_food", "opening_hours", None]

    settings = json.loads((tmp_path / "classifier.json").read_text())
    del settings["format"]  # what the first version wrote
    (tmp_path / "classifier.json").write_text(json.dumps(settings))
    with pytest.raises(KindFailed, match="older Flywheel .* create or retrain the bot again"):
        IntentClassifier.load(tmp_path, text_embedder().embed)


def test_the_lexical_head_takes_its_share_and_a_file_without_it_still_loads(tmp_path, monkeypatch):
    texts, intents = utterances(load_definition(demo_definition()))
    classifier = IntentClassifier(text_embedder().embed).fit(texts, intents)
    head = classifier.head_
    assert head.lexical_weights.shape == (head.lexicon.width, len(head.classes))
    questions = ["can i get two burgers", "when do you close", "is my pizza on its way"]
    blended = classifier.rank(questions)

    # A file written before the lexical head existed (format 2): read, and ranked by the stacked head alone.
    classifier.save(tmp_path)
    with np.load(tmp_path / "classifier.npz") as arrays:
        older = {name: arrays[name] for name in arrays.files if not name.startswith("lexical_")}
    np.savez_compressed(tmp_path / "classifier.npz", **older)
    settings = json.loads((tmp_path / "classifier.json").read_text())
    settings["format"] = 2
    del settings["lexical_temperature"]
    (tmp_path / "classifier.json").write_text(json.dumps(settings))
    loaded = IntentClassifier.load(tmp_path, text_embedder().embed)
    assert loaded.head_.lexical_weights is None
    monkeypatch.setattr(nlu, "LEXICAL_WEIGHT", 0.0)
    alone = classifier.rank(questions)
    assert loaded.rank(questions) == alone
    assert [answer.ranking for answer in alone] != [answer.ranking for answer in blended]  # the share is used
    assert [answer.intent for answer in alone] == [answer.intent for answer in blended]


def test_an_empty_vocabulary_leaves_the_stacked_head_alone():
    vectors = text_embedder().embed(["a", "b"])
    head = LinearHead.fit(["a", "b"], np.array(["first", "second"]), vectors, 0.5)  # no word or 2-char n-gram twice
    assert head.lexicon.width == 0 and head.lexical_weights is None
    stacked, lexical = head.margins(["a"], vectors[:1])
    assert lexical is None and stacked.shape == (1, 2) and stacked[0, 0] > stacked[0, 1]


OUT_OF_SCOPE = [  # questions a food-ordering bot has no intent for: they only place the threshold
    "what is the capital of france", "how tall is mount everest", "play some jazz music",
    "set an alarm for six tomorrow", "what's the weather in lisbon", "translate thank you into german",
    "how many miles is a marathon", "who won the world cup in 2010", "book me a flight to tokyo",
    "what is my credit score", "remind me to call my mother", "how do i change a flat tyre",
    "tell me a joke about cats", "what is the square root of 144", "turn off the living room lights",
    "how old is the universe", "recommend a good science fiction novel", "what's the exchange rate for yen",
    "who wrote pride and prejudice", "how do i reset my router", "what time is it in sydney",
    "find a dentist near me", "is it going to snow this weekend", "what does photosynthesis mean",
]  # fmt: skip
UNSEEN_OUT_OF_SCOPE = ["who painted the mona lisa", "how far away is the moon", "schedule a meeting with my boss"]


@pytest.fixture(scope="module")
def food_utterances():
    return utterances(load_definition(demo_definition()))


def test_out_of_scope_examples_place_the_threshold_at_the_recall_asked(food_utterances, tmp_path):
    texts, intents = food_utterances
    strict = IntentClassifier(text_embedder().embed, out_of_scope_recall=0.95).fit(texts, intents, None, OUT_OF_SCOPE)
    lenient = IntentClassifier(text_embedder().embed, out_of_scope_recall=0.6).fit(texts, intents, None, OUT_OF_SCOPE)
    # The asked share of the examples falls under the threshold, and no more than needed.
    assert strict.out_of_scope_rejected_ >= 0.95
    assert 0.6 <= lenient.out_of_scope_rejected_ < 0.75
    assert strict.threshold_ > lenient.threshold_
    assert lenient.cross_validated_rejection_ <= strict.cross_validated_rejection_
    answers = strict.rank([*UNSEEN_OUT_OF_SCOPE, "two pizzas please", "when do you open on sunday"])
    assert [answer.intent for answer in answers] == [None, None, None, "order_food", "opening_hours"]

    strict.save(tmp_path)
    loaded = IntentClassifier.load(tmp_path, text_embedder().embed)
    assert (loaded.threshold_, loaded.out_of_scope_recall) == (strict.threshold_, 0.95)
    assert loaded.out_of_scope_rejected_ == strict.out_of_scope_rejected_


def test_too_few_out_of_scope_examples_leave_the_in_scope_quantile(food_utterances):
    texts, intents = food_utterances
    plain = IntentClassifier(text_embedder().embed).fit(texts, intents)
    few = IntentClassifier(text_embedder().embed).fit(texts, intents, None, OUT_OF_SCOPE[:5])
    assert few.threshold_ == plain.threshold_
    assert few.out_of_scope_rejected_ is None


def test_a_definitions_fallback_samples_place_its_threshold(tmp_path):
    definition = demo_definition()
    definition["fallback"]["samples"] = OUT_OF_SCOPE
    kind = BotKind()
    model = tmp_path / "model"
    model.mkdir()
    result = kind.train(
        utterance_data(tmp_path, [("hello", "greet")]), kind.Params(definition=definition), Quiet(), model
    )
    assert result.metrics["out_of_scope_recall"] >= 0.85  # the default share
    bot = kind.load(model)
    replies = bot.predict([{"text": text} for text in [*UNSEEN_OUT_OF_SCOPE[:2], "two pizzas please"]])
    assert [reply["intent"] for reply in replies] == ["fallback", "fallback", "order_food"]
