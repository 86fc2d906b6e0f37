"""Multi-turn dialog: elicit missing slots, confirm, fulfil, cancel; contexts and session attributes.

A turn is a pure function of the utterance, the classifier's ranking and the session
state the caller passes in; it returns the reply and the next state. The state lives
with the caller (the kernel stores it per session), so any process can serve the next
turn.

Dialog states (``dialog_state``): ``ElicitSlot``, ``ConfirmIntent``, ``Fulfilled``,
``Failed``, ``Cancelled``, ``Fallback``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aiflywheel.kinds.bot.definition import CANCEL_INTENT, FALLBACK_INTENT, BotDefinition, Intent
from aiflywheel.kinds.bot.fulfillment import fulfil
from aiflywheel.kinds.bot.nlu import Ranked
from aiflywheel.kinds.bot.slots import Extractor, Span

_YES = re.compile(
    r"\b(yes|yeah|yep|yup|sure|ok|okay|correct|right|confirm|please do|go ahead|absolutely|of course)\b", re.I
)
_NO = re.compile(r"\b(no|nope|nah|don't|do not|negative|wrong|not)\b", re.I)
SWITCH_CONFIDENCE = 0.8  # while a slot is being elicited, another intent must be this sure to take over


@dataclass
class Turn:
    """One reply: what the API returns for the utterance (``session`` is stored, not shown)."""

    intent: str
    confidence: float
    slots: dict[str, Any]
    dialog_state: str
    message: str
    session: dict[str, Any]
    slot_to_elicit: str | None = None
    fulfillment_error: str | None = None

    def as_output(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "confidence": self.confidence,
            "slots": self.slots,
            "dialog_state": self.dialog_state,
            "message": self.message,
            "slot_to_elicit": self.slot_to_elicit,
            "fulfillment_error": self.fulfillment_error,
            "session": self.session,
        }


def new_session(definition: BotDefinition) -> dict[str, Any]:
    return {"intent": None, "slots": {}, "state": None, "slot_to_elicit": None, "attempts": 0,
            "contexts": {}, "attributes": dict(definition.session_attributes)}  # fmt: skip


def allowed_intents(definition: BotDefinition, session: dict[str, Any]) -> set[str]:
    """Intents that may start now: those whose input contexts are all active, and cancel."""
    active = set(session.get("contexts", {}))
    return {name for name, intent in definition.intents.items() if set(intent.input_contexts) <= active} | {
        CANCEL_INTENT
    }


class Dialog:
    """The dialog manager of one bot definition; ``extractors`` maps slot type to extractor."""

    def __init__(self, definition: BotDefinition, extractors: dict[str, Extractor]):
        self.definition = definition
        self.extractors = extractors

    def turn(self, text: str, ranked: Ranked, session: dict[str, Any] | None, session_id: str | None = None) -> Turn:
        state = {**new_session(self.definition), **(session or {})}
        state["contexts"] = {name: turns - 1 for name, turns in state["contexts"].items() if turns > 1}
        predicted = ranked.intent or FALLBACK_INTENT
        if predicted == CANCEL_INTENT:
            return self._cancel(state, ranked)
        if state["state"] == "ConfirmIntent":
            return self._confirming(text, ranked, state, session_id)
        if state["state"] == "ElicitSlot":
            intent = self.definition.intents[state["intent"]]
            filled = self._fill(intent, text, state["slots"], prefer=state["slot_to_elicit"])
            if filled or predicted in (FALLBACK_INTENT, intent.name) or ranked.confidence < SWITCH_CONFIDENCE:
                if not filled:
                    return self._reprompt(intent, ranked, state)
                return self._advance(intent, text, ranked, state, session_id)
        if predicted == FALLBACK_INTENT:
            return self._reply(
                FALLBACK_INTENT, ranked, state, "Fallback", self.definition.fallback_response, reset=True
            )
        intent = self.definition.intents[predicted]
        state.update(intent=intent.name, slots={}, attempts=0)
        self._fill(intent, text, state["slots"])
        return self._advance(intent, text, ranked, state, session_id)

    def _fill(self, intent: Intent, text: str, slots: dict[str, Any], prefer: str | None = None) -> bool:
        """Put values found in ``text`` into the intent's empty slots; each piece of text goes to one slot."""
        taken: list[Span] = []
        order = sorted(intent.slots, key=lambda slot: slot.name != prefer)
        filled = False
        for slot in order:
            if slot.name in slots:
                continue
            for span in self.extractors[slot.type](text):
                if not any(span.start < other.end and other.start < span.end for other in taken):
                    slots[slot.name] = span.value
                    taken.append(span)
                    filled = True
                    break
        return filled

    def _advance(self, intent: Intent, text: str, ranked: Ranked, state: dict, session_id: str | None) -> Turn:
        missing = [slot for slot in intent.slots if slot.required and slot.name not in state["slots"]]
        if missing:
            slot = missing[0]
            state.update(state="ElicitSlot", slot_to_elicit=slot.name, attempts=0)
            prompt = slot.prompt or f"What {slot.name.replace('_', ' ')}?"
            return self._reply(intent.name, ranked, state, "ElicitSlot", prompt, slot_to_elicit=slot.name)
        if intent.confirmation and state["state"] != "Confirmed":
            state.update(state="ConfirmIntent", slot_to_elicit=None, attempts=0)
            return self._reply(intent.name, ranked, state, "ConfirmIntent", intent.confirmation)
        return self._fulfil(intent, text, ranked, state, session_id)

    def _confirming(self, text: str, ranked: Ranked, state: dict, session_id: str | None) -> Turn:
        intent = self.definition.intents[state["intent"]]
        if _YES.search(text) and not _NO.search(text):
            state["state"] = "Confirmed"
            return self._advance(intent, text, ranked, state, session_id)
        if _NO.search(text):
            message = intent.declined or "Okay, I won't do that."
            return self._reply(intent.name, ranked, state, "Cancelled", message, reset=True)
        return self._retry(intent, ranked, state, intent.confirmation or "", "ConfirmIntent")

    def _reprompt(self, intent: Intent, ranked: Ranked, state: dict) -> Turn:
        slot = intent.slot(state["slot_to_elicit"])
        prompt = slot.reprompt or slot.prompt or f"Sorry, what {slot.name.replace('_', ' ')}?"
        return self._retry(intent, ranked, state, prompt, "ElicitSlot", slot.name)

    def _retry(
        self, intent: Intent, ranked: Ranked, state: dict, prompt: str, dialog_state: str, slot: str | None = None
    ) -> Turn:
        state["attempts"] += 1
        if state["attempts"] >= self.definition.max_attempts:
            return self._reply(intent.name, ranked, state, "Failed", self.definition.fallback_response, reset=True)
        return self._reply(intent.name, ranked, state, dialog_state, prompt, slot_to_elicit=slot)

    def _cancel(self, state: dict, ranked: Ranked) -> Turn:
        return self._reply(CANCEL_INTENT, ranked, state, "Cancelled", self.definition.cancel_response, reset=True)

    def _fulfil(self, intent: Intent, text: str, ranked: Ranked, state: dict, session_id: str | None) -> Turn:
        error, answer = None, {}
        if intent.fulfillment:
            request = {"intent": intent.name, "slots": state["slots"], "session_attributes": state["attributes"],
                       "text": text, "session_id": session_id}  # fmt: skip
            result = fulfil(intent.fulfillment, request)
            error, answer = result.error, result.answer
        failed = error is not None or bool(answer.get("failed"))
        state["slots"].update(answer.get("slots") or {})
        values = {**state["attributes"], **state["slots"]}
        if not failed:
            for key, template in intent.set_attributes.items():
                state["attributes"][key] = render(template, values) if isinstance(template, str) else template
            state["attributes"].update(answer.get("session_attributes") or {})
            for name, turns in intent.output_contexts:
                state["contexts"][name] = turns
        message = answer.get("message") or (
            "Sorry, something went wrong and I could not complete that."
            if failed
            else render(intent.response or "Done.", values)
        )
        return self._reply(
            intent.name, ranked, state, "Failed" if failed else "Fulfilled", message, reset=True, error=error
        )

    def _reply(self, intent: str, ranked: Ranked, state: dict, dialog_state: str, message: str,
               slot_to_elicit: str | None = None, reset: bool = False, error: str | None = None) -> Turn:  # fmt: skip
        slots = dict(state["slots"])
        values = {**state["attributes"], **slots}
        if reset:  # the intent is over: the next utterance starts afresh, contexts and attributes stay
            state.update(intent=None, slots={}, state=None, slot_to_elicit=None, attempts=0)
        return Turn(
            intent, ranked.confidence, slots, dialog_state, render(message, values), state, slot_to_elicit, error
        )


def render(template: str, values: dict[str, Any]) -> str:
    """``{name}`` becomes the slot's or attribute's value; unknown names stay as written."""
    return re.sub(r"\{([A-Za-z][A-Za-z0-9_]*)\}", lambda m: _show(values.get(m.group(1), m.group(0))), template)


def _show(value: Any) -> str:
    if isinstance(value, dict) and "amount" in value:
        return f"{value['amount']:g} {value.get('currency', '')}".strip()
    return str(value)
