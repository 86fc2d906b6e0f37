"""JSON Schemas of one bot turn: the input row and the reply."""

from __future__ import annotations

INPUT_SCHEMA = {
    "type": "object",
    "required": ["text"],
    "properties": {
        "text": {"type": "string", "minLength": 1, "maxLength": 1000, "description": "What the user said"},
        "session_id": {"type": "string"},
        "session": {"type": "object", "description": "The state returned by the previous turn (the kernel keeps it)"},
    },
}
OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "intent": {"type": "string", "description": "The intent, 'cancel' or 'fallback' (out of scope)"},
        "confidence": {"type": "number"},
        "slots": {"type": "object"},
        "dialog_state": {
            "type": "string",
            "enum": ["ElicitSlot", "ConfirmIntent", "Fulfilled", "Failed", "Cancelled", "Fallback"],
        },
        "message": {"type": "string"},
        "slot_to_elicit": {"type": ["string", "null"]},
        "fulfillment_error": {"type": ["string", "null"]},
        "session": {"type": "object"},
    },
}
