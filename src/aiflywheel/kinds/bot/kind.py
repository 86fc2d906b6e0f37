"""The ``bot`` kind: intents, slots and multi-turn dialog from a definition; NLU on shared sentence embeddings."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.kinds import Column, FeedbackRecord, KindExample, Metric, Progress, TrainingData, TrainResult
from aiflywheel.kinds.bot.definition import CANCEL_INTENT, FALLBACK_INTENT, PLACEHOLDER, BotDefinition, load_definition
from aiflywheel.kinds.bot.example import make_example
from aiflywheel.kinds.bot.nlu import IntentClassifier
from aiflywheel.kinds.bot.params import BotParams
from aiflywheel.kinds.bot.predictor import BotPredictor
from aiflywheel.kinds.bot.requests import INPUT_SCHEMA, OUTPUT_SCHEMA
from aiflywheel.kinds.components.embeddings import text_embedder

PRIMARY = Metric("accuracy", True)
BUILT_IN_EXAMPLES = {
    "number": ("2", "three", "10"),
    "date": ("tomorrow", "next friday", "march 3rd"),
    "time": ("7pm", "noon", "8:30"),
    "duration": ("2 hours", "30 minutes", "3 days"),
    "currency": ("20 dollars", "$15", "40 euros"),
    "email": ("ann@example.com", "bob.smith@mail.org", "me@work.net"),
    "phone": ("555 123 4567", "+44 20 7946 0958", "(415) 555-2671"),
    "country": ("France", "Japan", "Brazil"),
    "city": ("Paris", "Tokyo", "Chicago"),
}


class BotKind:
    """Conversational bots: a definition (intents, slots, prompts, fulfilment) trained into NLU + dialog.

    Examples
    --------
    >>> BotKind().Params().in_scope_rejection
    0.04
    """

    name: ClassVar[str] = "bot"
    description: ClassVar[str] = (
        "Conversational bots: intents with out-of-scope detection, slots, multi-turn dialog and fulfilment."
    )
    pretrained: ClassVar[bool] = False
    Params: ClassVar[type[BaseModel]] = BotParams
    input_schema: ClassVar[dict[str, Any]] = INPUT_SCHEMA
    output_schema: ClassVar[dict[str, Any]] = OUTPUT_SCHEMA
    primary_metric: ClassVar[Metric] = PRIMARY

    def validate(self, params: BaseModel, columns: tuple[Column, ...]) -> None:
        p = _params(params)
        names = {column.name for column in columns}
        missing = [name for name in (p.text_column, p.intent_column) if name not in names]
        if missing:
            raise InvalidInput(
                f"a bot trains on utterance rows with columns {p.text_column!r} and {p.intent_column!r}; "
                f"missing {missing} (found {sorted(names)})"
            )

    def train(self, data: TrainingData, params: BaseModel, progress: Progress, workdir: Path) -> TrainResult:
        """The definition's samples and the dataset's (feedback) rows → intent classifier with calibrated rejection."""
        p = _params(params)
        definition = load_definition(p.definition)
        texts, intents = utterances(definition)
        extra = data.to_pandas([p.text_column, p.intent_column]).dropna()
        known = {*definition.intents, CANCEL_INTENT, FALLBACK_INTENT}
        unknown = sorted(set(extra[p.intent_column].astype(str)) - known)
        if unknown:
            progress.log(f"skipping rows of intents not in the definition: {unknown[:5]}")
        extra = extra[extra[p.intent_column].astype(str).isin(known)]
        # The dataset usually holds the definition's own utterances too (``bots create`` stores them): once each.
        pairs = dict.fromkeys(zip(texts, intents, strict=True))
        more = zip(extra[p.text_column].astype(str), extra[p.intent_column].astype(str), strict=True)
        pairs.update(dict.fromkeys(more))
        texts, intents = [text for text, _ in pairs], [intent for _, intent in pairs]
        progress(0.1, f"embedding {len(texts)} utterances of {len(set(intents))} intents")
        vectors = text_embedder().embed(texts)
        progress(0.4, "training the intent classifier and calibrating out-of-scope rejection")
        classifier = IntentClassifier(
            text_embedder().embed, in_scope_rejection=p.in_scope_rejection, out_of_scope_recall=p.out_of_scope_recall
        )
        classifier.fit(texts, intents, vectors, out_of_scope=definition.fallback_samples)
        BotPredictor(definition, classifier).save(Path(workdir))
        metrics = {
            "accuracy": classifier.cross_validated_accuracy_,
            "in_scope_rejection": classifier.cross_validated_rejection_,
            "threshold": round(classifier.threshold_, 4),
            "n_utterances": len(texts),
            "n_intents": len(set(intents)),
            "baseline_accuracy": round(float(np.max(np.unique(intents, return_counts=True)[1]) / len(intents)), 4),
        }
        if classifier.out_of_scope_rejected_ is not None:  # the share of the fallback samples rejected
            metrics["out_of_scope_recall"] = classifier.out_of_scope_rejected_
        progress(1.0, "done")
        return TrainResult(metrics, PRIMARY, {"intents": sorted(set(intents))})

    def load(self, workdir: Path) -> BotPredictor:
        return BotPredictor.load(Path(workdir))

    def evaluate(self, predictor: BotPredictor, data: TrainingData, params: BaseModel) -> dict[str, Any]:
        """Intent accuracy on labelled utterances (``fallback`` rows count as right when rejected)."""
        p = _params(params)
        frame = data.to_pandas([p.text_column, p.intent_column]).dropna()
        if frame.empty:
            raise InvalidInput("evaluation needs labelled utterance rows (text, intent); the dataset has none")
        ranked = predictor.classifier.rank(frame[p.text_column].astype(str).tolist())
        predicted = np.array([answer.intent or FALLBACK_INTENT for answer in ranked])
        truth = frame[p.intent_column].astype(str).to_numpy()
        return {"accuracy": round(float((predicted == truth).mean()), 4), "n_utterances": len(frame)}

    def feedback_rows(self, params: BaseModel, records: Iterable[FeedbackRecord]) -> list[dict[str, Any]]:
        """A corrected intent (feedback ``label``) becomes a training utterance; ``fallback`` teaches rejection."""
        p = _params(params)
        rows = []
        for record in records:
            text, label = record.input.get("text"), record.feedback.get("label")
            if isinstance(label, dict):
                label = label.get("intent")
            if isinstance(text, str) and text.strip() and isinstance(label, str) and label:
                rows.append({p.text_column: text.strip(), p.intent_column: label})
        return rows

    @classmethod
    def example(cls) -> KindExample:
        return make_example()


def utterances(definition: BotDefinition) -> tuple[list[str], list[str]]:
    """The definition's samples, placeholders filled with example values (three variants each), and cancel's."""
    texts, intents = [], []
    for intent in definition.intents.values():
        types = {slot.name: slot.type for slot in intent.slots}
        for sample in intent.samples:
            names = PLACEHOLDER.findall(sample)
            variants = 3 if names else 1
            for variant in range(variants):
                values = {name: _example_value(definition, types[name], variant) for name in names}
                texts.append(PLACEHOLDER.sub(lambda match, values=values: values[match.group(1)], sample))
                intents.append(intent.name)
    texts += list(definition.cancel_samples)
    intents += [CANCEL_INTENT] * len(definition.cancel_samples)
    return texts, intents


def _example_value(definition: BotDefinition, type_name: str, variant: int) -> str:
    custom = definition.slot_types.get(type_name)
    if custom is None:
        return BUILT_IN_EXAMPLES[type_name][variant % 3]
    if custom.pattern is not None:
        return type_name.replace("_", " ")
    names = list(itertools.chain.from_iterable((value, *synonyms) for value, synonyms in custom.values.items()))
    return names[variant * 7 % len(names)]


def _params(params: BaseModel) -> BotParams:
    if isinstance(params, BotParams):
        return params
    return BotParams.model_validate(params.model_dump())
