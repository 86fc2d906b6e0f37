"""The ``translator`` kind: translation served at first start; a translation memory trained from approved pairs."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.kinds import Column, FeedbackRecord, KindExample, Metric, Progress, TrainingData, TrainResult
from aiflywheel.kinds.translator.example import make_example
from aiflywheel.kinds.translator.memory import TranslationMemory
from aiflywheel.kinds.translator.params import TranslatorParams
from aiflywheel.kinds.translator.predictor import TranslatorPredictor, save_model
from aiflywheel.kinds.translator.requests import INPUT_SCHEMA, OUTPUT_SCHEMA
from aiflywheel.kinds.translator.user_models import import_models

PRIMARY = Metric("chrf", True)
MEASURED_ROWS = 200  # the engine is measured on at most this many memory rows (it runs ~30 ms a sentence)


class TranslatorKind:
    """Neural en<->pt and Apertium pairs, terminology, formatting kept, and a translation memory.

    Examples
    --------
    >>> TranslatorKind.services
    {'translate': {}}
    """

    name: ClassVar[str] = "translator"
    description: ClassVar[str] = (
        "Translation: neural English<->Portuguese and Apertium pairs, terminology, formatting kept, "
        "a translation memory from approved translations and corrections."
    )
    pretrained: ClassVar[bool] = True
    services: ClassVar[dict[str, dict[str, Any]]] = {"translate": {}}
    Params: ClassVar[type[BaseModel]] = TranslatorParams
    input_schema: ClassVar[dict[str, Any]] = INPUT_SCHEMA
    output_schema: ClassVar[dict[str, Any]] = OUTPUT_SCHEMA
    primary_metric: ClassVar[Metric] = PRIMARY

    def install(self, params: BaseModel, workdir: Path) -> TrainResult:
        """A manifest (params, terminology), an empty memory, and the user's own models (``models``) copied in.

        The shipped models stay in their wheels; a user model is copied (a Marian one converted)
        into the version, so the version keeps working if the original files go away.
        """
        p = _params(params)
        import_models(p.models, Path(workdir))
        save_model(Path(workdir), p, TranslationMemory())
        pairs = TranslatorPredictor.load(Path(workdir)).pairs()
        return TrainResult({}, PRIMARY, {"pairs": pairs, "terms": len(p.terminology), "models": len(p.models)})

    def validate(self, params: BaseModel, columns: tuple[Column, ...]) -> None:
        p = _params(params)
        names = {column.name for column in columns}
        for role in ("source_column", "target_column", "source_language_column", "target_language_column"):
            column = getattr(p, role)
            if column not in names:
                raise InvalidInput(f"{role}: the dataset has no column {column!r}; its columns are {sorted(names)}")

    def train(self, data: TrainingData, params: BaseModel, progress: Progress, workdir: Path) -> TrainResult:
        """Keep the approved translations as the memory; measure the engines alone on them (chrF)."""
        p = _params(params)
        began = time.perf_counter()
        import_models(p.models, Path(workdir))
        save_model(Path(workdir), p, TranslationMemory())
        engines_only = TranslatorPredictor.load(Path(workdir))
        rows = _rows(data, p, engines_only)
        memory = TranslationMemory()
        for source_language, target_language, source, target in rows:
            memory.add(source_language, target_language, source, target)
        progress(0.1, f"{len(memory)} remembered translations; measuring the engines on them")
        metrics = _scores(engines_only, rows[:MEASURED_ROWS])
        metrics.update(n_memory=len(memory), train_seconds=round(time.perf_counter() - began, 3))
        save_model(Path(workdir), p, memory)
        progress(1.0, "done")
        return TrainResult(metrics, PRIMARY, {"pairs": engines_only.pairs()})

    def load(self, workdir: Path) -> TranslatorPredictor:
        return TranslatorPredictor.load(Path(workdir))

    def evaluate(self, predictor: TranslatorPredictor, data: TrainingData, params: BaseModel) -> dict[str, Any]:
        """chrF and BLEU (sacrebleu) of the served translations against the dataset's references."""
        return _scores(predictor, _rows(data, _params(params), predictor))

    def feedback_rows(self, params: BaseModel, records: Iterable[FeedbackRecord]) -> list[dict[str, Any]]:
        """A corrected translation (feedback ``label``) becomes a memory row for the next version."""
        p = _params(params)
        rows = []
        for record in records:
            text, corrected = record.input.get("text"), record.feedback.get("label")
            source = record.output.get("source") or record.input.get("source")
            target = record.output.get("target") or record.input.get("target") or p.default_target
            if not all(isinstance(v, str) and v.strip() for v in (text, corrected, source, target)):
                continue
            rows.append(
                {
                    p.source_column: text,
                    p.target_column: corrected,
                    p.source_language_column: source,
                    p.target_language_column: target,
                }
            )
        return rows

    @classmethod
    def example(cls) -> KindExample:
        return make_example()


def _rows(data: TrainingData, p: TranslatorParams, predictor: TranslatorPredictor) -> list[tuple[str, str, str, str]]:
    columns = [p.source_language_column, p.target_language_column, p.source_column, p.target_column]
    frame = data.to_pandas(columns).dropna()
    rows = [tuple(str(v).strip() for v in row) for row in frame.itertuples(index=False)]
    rows = [row for row in rows if all(row)]
    if not rows:
        raise InvalidInput(f"source_column: no row has all of {columns} filled")
    pairs = {(s.lower(), t.lower()) for s, t, _, _ in rows}
    missing = sorted(f"{s}->{t}" for s, t in pairs if (s, t) not in predictor.engines.by_pair)
    if missing:
        raise InvalidInput(f"source_language_column: no installed engine translates {missing}")
    return [(s.lower(), t.lower(), src, ref) for s, t, src, ref in rows]


def _scores(predictor: TranslatorPredictor, rows: list[tuple[str, str, str, str]]) -> dict[str, Any]:
    import sacrebleu

    hypotheses: list[str] = []
    for start in range(0, len(rows), 32):
        chunk = rows[start : start + 32]
        answers = predictor.predict([{"text": src, "source": s, "target": t} for s, t, src, _ in chunk])
        hypotheses += [answer["text"] for answer in answers]
    references = [[ref for _, _, _, ref in rows]]
    return {
        "chrf": round(sacrebleu.corpus_chrf(hypotheses, references).score, 2),
        "bleu": round(sacrebleu.corpus_bleu(hypotheses, references).score, 2),
        "n": len(rows),
    }


def _params(params: BaseModel | Mapping[str, Any]) -> TranslatorParams:
    if isinstance(params, TranslatorParams):
        return params
    raw = params.model_dump(exclude_unset=True) if isinstance(params, BaseModel) else dict(params)
    try:
        return TranslatorParams.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput(f"invalid parameters for kind 'translator': {exc}") from exc
