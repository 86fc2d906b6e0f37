"""The detector's files and the predictor that scores events with them.

A detector directory holds ``model.txt`` (LightGBM's text format), ``catboost.cbm``
(CatBoost's own format, when the detector blends both), ``detector.json``
(event type, feature encodings, calibration, thresholds, rules) and ``history.json``
(each entity's recent events at the end of training). No pickle.

The predictor keeps the entity history in memory: it starts from ``history.json`` and
records every event it scores, so an entity's behaviour features see both its
training events and the events scored since. When an endpoint loads it (after a
restart, or an idle unload), ``replay`` records again what endpoints answered with
this version, from the kernel's prediction log. Evaluation starts from a fresh copy
of the shipped history and never touches the live one.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
from catboost import CatBoost, CatBoostError

from aiflywheel.errors import InvalidInput, KindFailed
from aiflywheel.kinds.fraud.catboost_model import CatBoostInput, split_features
from aiflywheel.kinds.fraud.events import EventSchema
from aiflywheel.kinds.fraud.explain import ObliviousPathContributions, PathContributions
from aiflywheel.kinds.fraud.features import EventEncoder
from aiflywheel.kinds.fraud.history import History, Observation, observation
from aiflywheel.kinds.fraud.model import Calibrator, blend
from aiflywheel.kinds.fraud.params import Rule
from aiflywheel.kinds.fraud.rules import RuleSet

MODEL_FILE = "model.txt"
CATBOOST_FILE = "catboost.cbm"
DETECTOR_FILE = "detector.json"
HISTORY_FILE = "history.json"
FORMAT = "aiflywheel.fraud/1"
REPLAY_CHUNK = 1000


class Detector:
    """Everything but the booster and the history: how events become features and scores become outcomes."""

    def __init__(
        self,
        schema: EventSchema,
        encoder: EventEncoder,
        calibrator: Calibrator,
        thresholds: Mapping[str, float],
        rules: Sequence[Rule],
        default_outcome: str,
        amount: str | None,
        explanations: int,
        catboost_categories: Sequence[int] | None = None,
    ):
        self.schema, self.encoder, self.calibrator = schema, encoder, calibrator
        self.thresholds = dict(thresholds)
        self.rules = RuleSet(rules, schema.variables, default_outcome)
        self.amount, self.explanations = amount, explanations
        # Features CatBoost takes as categories (the categorical ones and few-valued numeric variables).
        chosen = encoder.categorical_indices if catboost_categories is None else catboost_categories
        self.catboost_categories = list(chosen)

    @property
    def tracked(self) -> list[str]:
        """Variables whose never-seen-before values are flagged per entity."""
        return [
            name
            for name, kind in self.schema.variables.items()
            if kind in ("categorical", "ip", "email") and name != self.schema.entity
        ]

    def new_history(self, windows: Sequence[int]) -> History:
        return History(windows, self.tracked, self.amount is not None)

    def check(self, batch: Any) -> list[dict[str, Any]]:
        if not isinstance(batch, list):
            raise InvalidInput(f"a batch must be a list of events, got {type(batch).__name__}")
        return [self.schema.check(event, position) for position, event in enumerate(batch)]

    def features(self, events: list[dict[str, Any]], history: History | None, record: bool = True) -> np.ndarray:
        static = self.encoder.transform(events)
        if history is None:
            return static
        return np.hstack([static, history.features(self.observations(events, history), record)])

    def observations(self, events: list[dict[str, Any]], history: History) -> list[Observation]:
        return [observation(e, self.schema.entity, self.schema.time, self.amount, history.tracked) for e in events]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "schema": self.schema.to_dict(),
            "encoder": self.encoder.to_dict(),
            "calibration": self.calibrator.to_dict(),
            "thresholds": self.thresholds,
            "rules": self.rules.to_list(),
            "default_outcome": self.rules.default_outcome,
            "amount": self.amount,
            "explanations": self.explanations,
            "catboost_categories": self.catboost_categories,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Detector:
        return cls(
            EventSchema.from_dict(raw["schema"]),
            EventEncoder.from_dict(raw["encoder"]),
            Calibrator(**raw["calibration"]),
            raw["thresholds"],
            [Rule.model_validate(rule) for rule in raw["rules"]],
            raw["default_outcome"],
            raw.get("amount"),
            raw["explanations"],
            raw.get("catboost_categories"),
        )


class FraudPredictor:
    """Scores a batch of events: ``{"score", "outcome", "rules", "explanations"}`` each.

    ``score`` is the calibrated probability of fraud; ``rules`` the names of the rules
    that matched (the first decides ``outcome``); ``explanations`` the variables that
    moved the score most, with their contribution in log-odds (along each tree's
    decision path, ``explain.PathContributions`` and ``ObliviousPathContributions``,
    summed per variable and blended like the learners' log-odds; positive pushes toward
    fraud).
    """

    def __init__(
        self,
        booster: lgb.Booster,
        detector: Detector,
        history: History | None,
        shipped_history: Path | None = None,
        catboost: CatBoost | None = None,
    ):
        self.booster, self.detector, self.history, self.catboost = booster, detector, history, catboost
        self._shipped_history = shipped_history
        variables = list(detector.encoder.feature_variables)
        if history is not None:
            variables += [f"{detector.schema.entity}.{name}" for name in history.feature_names]
        self._variables = variables
        self._groups = sorted(set(variables), key=variables.index)
        self._group_of = np.array([self._groups.index(name) for name in variables])
        self._contributions = PathContributions(booster, self._group_of, len(self._groups))
        if catboost is not None:
            self._catboost_input = CatBoostInput(len(variables), detector.catboost_categories)
            document = _json_document(catboost)
            group_of_flat = self._group_of[self._catboost_input.flat_to_feature]
            self._catboost_contributions = ObliviousPathContributions(
                document, split_features(document), group_of_flat, len(self._groups)
            )

    def predict(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Raises ``InvalidInput`` naming the event and the variable of a bad event, before recording any."""
        events = self.detector.check(batch)
        if not events:
            return []
        return self.score(events, self.history)

    def score(
        self, events: list[dict[str, Any]], history: History | None, record: bool = True, explain: bool = True
    ) -> list[dict[str, Any]]:
        features = self.detector.features(events, history, record)
        raw, per_variable = self.raw_contributions(features)
        scores = self.detector.calibrator(raw)
        thresholds = self.detector.thresholds
        out = []
        for event, score, row in zip(events, scores, per_variable, strict=True):
            symbols = {**event, "score": float(score), **thresholds}
            outcome, matched = self.detector.rules.decide(symbols)
            answer: dict[str, Any] = {"score": round(float(score), 6), "outcome": outcome, "rules": matched}
            if explain:
                top = np.argsort(-np.abs(row), kind="stable")[: self.detector.explanations]
                answer["explanations"] = [
                    {"variable": self._groups[i], "contribution": round(float(row[i]), 6)} for i in top if row[i] != 0
                ]
            out.append(answer)
        return out

    def raw_contributions(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(blended log-odds, blended contributions per variable) of a feature matrix."""
        try:
            raw, per_variable = self._contributions(self.booster, features)
        except lgb.basic.LightGBMError as exc:
            raise KindFailed(f"LightGBM failed to score: {exc}") from exc
        if self.catboost is None:
            return raw, per_variable
        try:
            leaves = self.catboost.calc_leaf_indexes(self._catboost_input.pool(features), thread_count=1)
        except CatBoostError as exc:
            raise KindFailed(f"CatBoost failed to score: {exc}") from exc
        second_raw, second = self._catboost_contributions(leaves)
        return blend([raw, second_raw]), blend([per_variable, second])

    def replay(self, inputs: Iterable[Any]) -> None:
        """Record in the live history the events this version scored before (the kernel's prediction log).

        The serving process keeps the history in memory; replaying what endpoints answered
        gives a restarted (or reloaded) detector each entity's history back. Recording is
        idempotent, so an event both in the shipped history and in the log counts once.
        """
        if self.history is None:
            return
        chunk: list[dict[str, Any]] = []
        for event in inputs:
            try:
                chunk.append(self.detector.schema.check(event, len(chunk)))
            except InvalidInput:
                continue  # it was answered, so it was valid: only an event type changed since could refuse it
            if len(chunk) == REPLAY_CHUNK:
                self.history.record(self.detector.observations(chunk, self.history))
                chunk = []
        self.history.record(self.detector.observations(chunk, self.history))

    def fresh_history(self) -> History | None:
        """The history as training left it (for evaluation), independent of the live one."""
        if self._shipped_history is None:
            return None
        return History.from_dict(json.loads(self._shipped_history.read_text()))

    def save(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(workdir / MODEL_FILE))
        if self.catboost is not None:
            self.catboost.save_model(str(workdir / CATBOOST_FILE))
        (workdir / DETECTOR_FILE).write_text(json.dumps(self.detector.to_dict(), indent=1, ensure_ascii=False))
        if self.history is not None:
            (workdir / HISTORY_FILE).write_text(json.dumps(self.history.to_dict(), separators=(",", ":")))

    @classmethod
    def load(cls, workdir: Path) -> FraudPredictor:
        workdir = Path(workdir)
        try:
            document = json.loads((workdir / DETECTOR_FILE).read_text())
            booster = lgb.Booster(model_file=str(workdir / MODEL_FILE))
            blended = (workdir / CATBOOST_FILE).exists()
            catboost = CatBoost().load_model(str(workdir / CATBOOST_FILE)) if blended else None
            history_path = workdir / HISTORY_FILE
            history = History.from_dict(json.loads(history_path.read_text())) if history_path.exists() else None
        except (OSError, ValueError, KeyError, lgb.basic.LightGBMError, CatBoostError) as exc:
            raise KindFailed(f"{workdir} does not hold a readable fraud detector: {exc}") from exc
        if document.get("format") != FORMAT:
            raise KindFailed(f"{workdir / DETECTOR_FILE} has format {document.get('format')!r}, not {FORMAT!r}")
        shipped = history_path if history is not None else None
        return cls(booster, Detector.from_dict(document), history, shipped, catboost)


def _json_document(model: CatBoost) -> dict[str, Any]:
    """The model's trees and feature numbering, through CatBoost's own JSON export."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.json"
        model.save_model(str(path), format="json")
        return json.loads(path.read_text())
