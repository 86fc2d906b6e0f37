"""The try-it panels: which panel an endpoint gets, the instances a panel's form holds, and what the richer
panels show beside the answer.

A panel is a template, ``tryit/<kind>.html`` (the generic form when a kind has none). Every panel posts to
``/endpoints/{name}/try``: controls named ``input.<property>`` (a file control's bytes become the property's
base64 string), or ``mode=json`` with a list of instances, or — for a conversation — ``session_id`` and
``input.text``. The prediction always goes through the serving path of ``/v1/endpoints/{name}/invocations``.
"""

from __future__ import annotations

import base64
import io
import json
import secrets
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from jinja2 import TemplateNotFound
from PIL import Image, UnidentifiedImageError
from starlette.datastructures import FormData, UploadFile

from aiflywheel.errors import InvalidInput
from aiflywheel.interfaces.console.forms import FormField, fields_from_schema, values_from_form
from aiflywheel.interfaces.console.web import templates
from aiflywheel.interfaces.rest.serving import EndpointView
from aiflywheel.kernel.conversations import check_session_id, recent_turns
from aiflywheel.kernel.platform import Platform
from aiflywheel.kernel.registry import ModelVersion
from aiflywheel.kinds.speech.voices import listing as voice_listing

INPUT_PREFIX = "input."
INSTANCES_FIELD = "instances_json"
SESSION_FIELD = "session_id"
KNOWN_USERS_SHOWN = 500  # the most active users of the training data fill the recommender panel's picker
CONVERSATION_TURNS_READ = 500  # newest turns of a bot searched for the panel's conversation


def try_fields(platform: Platform, champion: ModelVersion | None, kind) -> list[FormField]:
    """The try-it controls: the kind's input properties, or, for a free-form input (a table row),
    the columns of the data the champion was trained on, prefilled with its first row."""
    schema = kind.input_schema
    if schema.get("properties"):
        return fields_from_schema(schema, prefix=INPUT_PREFIX)
    if champion is None or champion.dataset_version_id is None:
        return []
    trained_on = platform.datasets.version_by_id(champion.dataset_version_id)
    example = trained_on.preview[0] if trained_on.preview else {}
    fields = []
    for column in trained_on.columns:
        if column["name"] == champion.params.get("target"):  # what the model predicts is no input
            continue
        widget = "number" if column["logical"] == "numeric" else "text"
        if column["logical"] == "boolean":
            widget = "checkbox"
        value = example.get(column["name"])
        fields.append(
            FormField(
                name=INPUT_PREFIX + column["name"],
                label=column["name"],
                widget=widget,
                value="" if value is None else str(value),
                checked=bool(value) if widget == "checkbox" else False,
                nullable=True,
            )
        )
    return fields


def try_panel(kind_name: str) -> str:
    """The try-it template of a kind: ``tryit/<kind>.html`` if one exists (a chat window, an audio player,
    boxes on an image), else the generic form. A richer panel only needs its template."""
    try:
        return templates.get_template(f"tryit/{kind_name}.html").name
    except TemplateNotFound:
        return "tryit/generic.html"


async def form_instances(form: FormData, fields: list[FormField]) -> tuple[list[Any], str | None, dict[str, str]]:
    """The instances a try-it form holds, the JSON text they came as (if they did), and the media type of
    each uploaded file by property. ``InvalidInput`` names the field that is missing or unreadable."""
    text = form.get(INSTANCES_FIELD)
    if form.get("mode") == "json" and text:
        try:
            instances = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"instances: not valid JSON ({exc.msg}, line {exc.lineno})") from None
        if not isinstance(instances, list) or not instances:
            raise InvalidInput("instances: give a JSON list with at least one instance, e.g. [{...}]")
        return instances, text, {}
    values: dict[str, Any] = {}
    uploads: dict[str, str] = {}
    for key, value in form.multi_items():
        if not isinstance(value, UploadFile):
            values[key] = value
        elif key.startswith(INPUT_PREFIX):
            name = key.removeprefix(INPUT_PREFIX)
            data = await value.read()
            if not data:
                raise InvalidInput(
                    f"{name}: the file {value.filename!r} is empty" if value.filename else f"{name}: choose a file"
                )
            values[key] = base64.b64encode(data).decode()
            uploads[name] = value.content_type or "application/octet-stream"
    instance = values_from_form(fields, values).get("input", {})
    for name in uploads:  # a file for a property the schema does not list (an image for faces)
        instance.setdefault(name, values[INPUT_PREFIX + name])
    missing = [f.name.removeprefix(INPUT_PREFIX) for f in fields if f.required and f.name.count(".") == 1]
    missing = [name for name in missing if instance.get(name) in (None, "")]
    if missing:
        raise InvalidInput(f"{missing[0]}: it is required and was left empty")
    return [instance], None, uploads


def new_session_id() -> str:
    return f"console-{secrets.token_hex(8)}"


# -- what the richer panels show beside the answer --------------------------


def _voices(platform: Platform, view: EndpointView, result: dict | None, session_id: str | None) -> dict[str, Any]:
    installed = [voice for voice in voice_listing() if voice["installed"]]
    default = view.champion.params.get("voice", "auto") if view.champion else "auto"
    return {"voices": installed, "default_voice": default}


def _conversation(platform: Platform, view: EndpointView, result: dict | None, session_id: str | None):
    """The turns of this session so far, oldest first, as the prediction log holds them (and the one just
    answered, which the log may not have written yet)."""
    try:
        check_session_id(session_id)
    except InvalidInput:  # none yet, or one the kernel refused: start afresh
        return {"session_id": new_session_id(), "conversation": []}
    logged = recent_turns(platform.engine, platform.project_id, view.endpoint.name, CONVERSATION_TURNS_READ)
    turns = {
        prediction_id: {"text": row.get("text", ""), **output}
        for prediction_id, row, output in reversed(logged)
        if isinstance(row, dict) and row.get(SESSION_FIELD) == session_id and isinstance(output, dict)
    }
    if result and result.get("prediction_ids"):
        said = result["instances"][0].get("text", "")
        turns[result["prediction_ids"][0]] = {"text": said, **result["predictions"][0]}
    return {"session_id": session_id, "conversation": [{"prediction_id": key, **turn} for key, turn in turns.items()]}


def _shop(platform: Platform, view: EndpointView, result: dict | None, session_id: str | None) -> dict[str, Any]:
    """The users the champion knows (the most active first, with their number of interactions) and the
    titles of the items answered, both read from the data it was trained on."""
    champion = view.champion
    if champion is None or champion.dataset_version_id is None:
        return {"users": [], "titles": {}}
    data = platform.datasets.training_data(platform.datasets.version_by_id(champion.dataset_version_id))
    present = set(data.column_names())
    user, item = champion.params.get("user_column", "user_id"), champion.params.get("item_column", "item_id")
    if not {user, item} <= present:
        return {"users": [], "titles": {}}
    counts = pc.value_counts(pc.drop_null(data.read([user]).column(user).cast("string")))
    ranked = sorted(zip(counts.field(0).to_pylist(), counts.field(1).to_pylist(), strict=True), key=lambda p: -p[1])
    titles: dict[str, str] = {}
    text_columns = champion.params.get("text_columns") or [name for name in ("title", "text") if name in present]
    answered = [entry.get("item_id") for entry in (result or {}).get("predictions", [{}])[0].get("items", [])]
    if answered and text_columns and text_columns[0] in present:
        table = data.read([item, text_columns[0]])
        table = table.filter(pc.is_in(table.column(item).cast("string"), value_set=_strings(answered)))
        named = zip(table.column(item).to_pylist(), table.column(text_columns[0]).to_pylist(), strict=True)
        for item_id, title in named:
            if title:
                titles[str(item_id)] = str(title)  # the latest non-empty title of an item wins, as in training
    return {"users": ranked[:KNOWN_USERS_SHOWN], "known_users": len(ranked), "titles": titles}


def _strings(values: list[Any]) -> pa.Array:
    return pa.array([str(value) for value in values], pa.string())


def _media(platform: Platform, view: EndpointView, result: dict | None, session_id: str | None) -> dict[str, Any]:
    """The uploaded image as a ``data:`` address for the overlay (its type read from its own bytes)."""
    if not result or not isinstance(result["instances"][0], dict):
        return {}
    image = result["instances"][0].get("image")
    if not isinstance(image, str):
        return {}
    try:
        with Image.open(io.BytesIO(base64.b64decode(image))) as opened:
            media_type = opened.get_format_mimetype()
    except (UnidentifiedImageError, ValueError, OSError):
        return {}
    return {"image_src": f"data:{media_type};base64,{image}"}


CONTEXT: dict[str, Callable[..., dict[str, Any]]] = {
    "tts": _voices,
    "bot": _conversation,
    "recommender": _shop,
    **{name: _media for name in ("faces", "labels", "moderation", "text", "image-classifier")},
}


def panel_context(
    platform: Platform, view: EndpointView, result: dict | None, session_id: str | None
) -> dict[str, Any]:
    """What the endpoint's panel shows beside the answer: voices, the conversation so far, known users..."""
    extra = CONTEXT.get(view.endpoint.kind)
    return extra(platform, view, result, session_id) if extra else {}
