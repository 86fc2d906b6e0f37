"""HTML forms generated from JSON Schema, and form data turned back into typed values.

One generator serves every form whose shape a schema gives: a kind's training params
(``Params.model_json_schema()``), a flywheel policy, and a kind's prediction input
(``input_schema``). A field the form cannot express as a plain control (a list, a
mapping, a mixed union) becomes a JSON text area, so any schema still works.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiflywheel.errors import InvalidInput

NUMBER_TYPES = {"integer", "number"}


@dataclass
class FormField:
    """One control: ``name`` is the dotted path of the value (``triggers.every_n_labels``)."""

    name: str
    label: str
    widget: str  # integer | number | checkbox | select | text | json
    value: str = ""
    checked: bool = False
    required: bool = False
    nullable: bool = False
    description: str = ""
    options: list[str] = field(default_factory=list)
    minimum: float | None = None
    maximum: float | None = None
    group: str = ""

    @property
    def control_id(self) -> str:
        return "field-" + self.name.replace(".", "-")


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not ref or not ref.startswith("#/"):
        return schema
    target: Any = root
    for part in ref[2:].split("/"):
        target = target.get(part, {})
    merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return _resolve(merged, root)


def _shape(schema: dict[str, Any], root: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The schema without a ``null`` alternative, and whether null was allowed."""
    schema = _resolve(schema, root)
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        not_null = [_resolve(option, root) for option in options if option.get("type") != "null"]
        nullable = len(not_null) < len(options)
        if len(not_null) == 1:
            extra = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
            return {**not_null[0], **extra}, nullable
        return schema, nullable
    kind = schema.get("type")
    if isinstance(kind, list) and "null" in kind:
        rest = [t for t in kind if t != "null"]
        return {**schema, "type": rest[0] if len(rest) == 1 else rest}, True
    return schema, False


def _widget(schema: dict[str, Any]) -> str:
    if "enum" in schema or "const" in schema:
        return "select"
    kind = schema.get("type")
    if isinstance(kind, list):  # an id that may be a string or a number (``user_id``) is typed as text
        return "text" if "string" in kind and set(kind) <= {"string", *NUMBER_TYPES} else "json"
    if kind in NUMBER_TYPES:
        return kind
    if kind == "boolean":
        return "checkbox"
    if kind == "string":
        return "text"
    return "json"


def _as_text(value: Any, widget: str) -> str:
    if value is None:
        return ""
    if widget == "json":
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _label(name: str, schema: dict[str, Any]) -> str:
    return schema.get("title") or name.replace("_", " ").capitalize()


def fields_from_schema(
    schema: dict[str, Any], values: Mapping[str, Any] | None = None, prefix: str = "", root=None, group=""
) -> list[FormField]:
    """The controls for an object schema's properties, prefilled from ``values`` or the defaults."""
    root = root or schema
    schema = _resolve(schema, root)
    values = values or {}
    required = set(schema.get("required", []))
    found: list[FormField] = []
    for name, raw in schema.get("properties", {}).items():
        shape, nullable = _shape(raw, root)
        path = f"{prefix}{name}"
        current = values.get(name, shape.get("default", raw.get("default")))
        if shape.get("type") == "object" and shape.get("properties"):
            title = raw.get("title") or name.replace("_", " ").capitalize()  # the field's name, not its class's
            found += fields_from_schema(shape, current or {}, f"{path}.", root, group=title)
            continue
        widget = _widget(shape)
        if widget == "checkbox" and nullable:
            widget, shape = "select", {**shape, "enum": [True, False]}
        options = [_as_text(option, "text") for option in shape.get("enum", [shape.get("const")])]
        found.append(
            FormField(
                name=path,
                label=_label(name, shape),
                widget=widget,
                value=_as_text(current, widget),
                checked=bool(current) if widget == "checkbox" else False,
                required=name in required,
                nullable=nullable,
                description=shape.get("description", raw.get("description", "")),
                options=options if widget == "select" else [],
                minimum=shape.get("minimum", shape.get("exclusiveMinimum")),
                maximum=shape.get("maximum", shape.get("exclusiveMaximum")),
                group=group,
            )
        )
    return found


def _parse(field_: FormField, text: str) -> Any:
    text = text.strip()
    if field_.widget == "checkbox":
        return text.lower() in ("true", "on", "1", "yes")
    if text == "":
        return None
    if field_.widget in NUMBER_TYPES:
        try:
            number = float(text)
        except ValueError:
            raise InvalidInput(f"{field_.name}: {text!r} is not a number") from None
        if field_.widget == "integer":
            if not number.is_integer():
                raise InvalidInput(f"{field_.name}: {text!r} is not a whole number")
            return int(number)
        return number
    if field_.widget == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{field_.name}: not valid JSON ({exc.msg}, column {exc.colno})") from None
    if field_.widget == "select" and set(field_.options) <= {"true", "false"}:  # a nullable boolean
        return text == "true"
    return text


def values_from_form(fields: list[FormField], form: Mapping[str, Any]) -> dict[str, Any]:
    """The nested values the form holds; an empty optional field is left out (its default applies),
    an empty field that allows null is null. ``InvalidInput`` names a field that cannot be read."""
    values: dict[str, Any] = {}
    for field_ in fields:
        raw = form.get(field_.name)
        if raw is None and field_.widget != "checkbox":
            continue
        parsed = _parse(field_, "" if raw is None else str(raw))
        if parsed is None and not field_.nullable:
            continue
        target = values
        *parents, leaf = field_.name.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = parsed
    return values
