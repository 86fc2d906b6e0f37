"""Rules: ordered expressions over the event's variables and the score, each naming an outcome.

Expressions are written in rule-engine's language (its own grammar, not Python: no
attribute access into Python objects, no calls, nothing to escape from). Each rule is
compiled once against the event type, so a misspelt variable or a comparison of a
string with a number is refused when the detector is trained, naming the rule. Every
rule is evaluated, so the answer lists all that matched; the first one decides.

Symbols: every variable of the event type (numbers as floats, timestamps as epoch
seconds, the rest as strings), ``score`` (the calibrated probability of fraud) and
the thresholds the training chose, ``block_threshold`` and ``review_threshold``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import rule_engine

from aiflywheel.errors import InvalidInput
from aiflywheel.kinds.fraud.params import Rule

_TYPES = {
    "numeric": rule_engine.DataType.FLOAT,
    "timestamp": rule_engine.DataType.FLOAT,
    "boolean": rule_engine.DataType.FLOAT,
}
THRESHOLD_SYMBOLS = ("score", "block_threshold", "review_threshold")


def default_rules() -> list[Rule]:
    return [
        Rule(name="high_score", expression="score >= block_threshold", outcome="block"),
        Rule(name="elevated_score", expression="score >= review_threshold", outcome="review"),
    ]


class RuleSet:
    """Compiled rules; ``decide`` gives (outcome, names of the rules that matched)."""

    def __init__(self, rules: Sequence[Rule], variables: Mapping[str, str], default_outcome: str):
        self.rules = list(rules)
        self.default_outcome = default_outcome
        types = {name: _TYPES.get(kind, rule_engine.DataType.STRING) for name, kind in variables.items()}
        types.update({symbol: rule_engine.DataType.FLOAT for symbol in THRESHOLD_SYMBOLS})
        typed = rule_engine.Context(type_resolver=rule_engine.type_resolver_from_dict(types))
        # Evaluation: a missing variable is null, and a rule that compares a null does not match.
        untyped = rule_engine.Context(default_value=None)
        self._compiled = []
        names = set()
        for rule in self.rules:
            if rule.name in names:
                raise InvalidInput(f"rules: two rules are named {rule.name!r}")
            names.add(rule.name)
            try:
                rule_engine.Rule(rule.expression, context=typed)
                self._compiled.append(rule_engine.Rule(rule.expression, context=untyped))
            except rule_engine.errors.SymbolResolutionError as exc:
                known = ", ".join(sorted(types))
                raise InvalidInput(
                    f"rule {rule.name!r}: unknown variable {exc.symbol_name!r} in {rule.expression!r}; known: {known}"
                ) from exc
            except rule_engine.errors.EngineError as exc:
                raise InvalidInput(f"rule {rule.name!r}: {rule.expression!r} is not a valid rule: {_why(exc)}") from exc

    def decide(self, symbols: Mapping[str, Any]) -> tuple[str, list[str]]:
        matched = []
        for rule, compiled in zip(self.rules, self._compiled, strict=True):
            try:
                if compiled.matches(symbols):
                    matched.append(rule.name)
            except rule_engine.errors.EvaluationError:
                continue  # a missing (null) variable in an arithmetic or ordering: the rule cannot hold
        outcome = next((r.outcome for r in self.rules if r.name in matched), self.default_outcome)
        return outcome, matched

    def to_list(self) -> list[dict[str, Any]]:
        return [rule.model_dump() for rule in self.rules]


def _why(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return str(message)
