"""``flywheel vision ...``: the vision services of a running Flywheel, on image files, through the SDK.

Each command uploads the file as a multipart form to ``/v1/endpoints/{name}/upload`` (the
same invocation as the JSON path, logged with a prediction id for feedback) or calls the
face-collection routes, at ``--url`` with ``--api-key``.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Annotated, Any

import typer

from aiflywheel.errors import InvalidInput
from aiflywheel.interfaces.cli.client_commands import client
from aiflywheel.interfaces.cli.context import JsonOption
from aiflywheel.interfaces.cli.render import as_json, console, table

app = typer.Typer(help="Labels, faces, moderation and text in images; face collections.", no_args_is_help=True)
collections = typer.Typer(help="Face collections: index faces under your ids, search by photo.", no_args_is_help=True)
app.add_typer(collections, name="collections")

Photo = Annotated[Path, typer.Argument(help="An image file: JPEG, PNG, WebP, BMP or GIF")]
Endpoint = Annotated[str | None, typer.Option(help="The endpoint to call (default: the service's own)")]


def _file(path: Path) -> tuple[str, bytes]:
    if not path.is_file():
        raise InvalidInput(f"no image file at {path}")
    return path.name, path.read_bytes()


def _image64(path: Path) -> str:
    return base64.b64encode(_file(path)[1]).decode()


def _upload(ctx: typer.Context, endpoint: str, **photos: Path) -> dict[str, Any]:
    files = {field: _file(path) for field, path in photos.items()}
    answer = client(ctx).request("POST", f"/v1/endpoints/{endpoint}/upload", files=files).json()
    return {"prediction": answer["predictions"][0], "prediction_id": answer["prediction_ids"][0]}


def _footer(answer: dict[str, Any]) -> None:
    console.print(f"prediction id {answer['prediction_id']} (send feedback with `flywheel feedback`)")


@app.command("labels")
def labels(ctx: typer.Context, photo: Photo, endpoint: Endpoint = None, json: JsonOption = False) -> None:
    """What the photo shows: labels with their parents and confidences."""
    answer = _upload(ctx, endpoint or "labels", image=photo)
    if json:
        return as_json(answer)
    rows = [
        (x["name"], f"{x['confidence']:.1%}", " > ".join(x.get("parents", []))) for x in answer["prediction"]["labels"]
    ]
    table(f"labels of {photo.name}", ("label", "confidence", "parents"), rows)
    _footer(answer)


@app.command("faces")
def faces(
    ctx: typer.Context,
    photo: Photo,
    compare: Annotated[Path | None, typer.Option(help="Another photo: is its face the same person?")] = None,
    endpoint: Endpoint = None,
    json: JsonOption = False,
) -> None:
    """Faces in a photo (box, quality), or with --compare whether two photos show the same person."""
    if compare is not None:
        answer = _upload(ctx, endpoint or "faces", source=photo, target=compare)
        if json:
            return as_json(answer)
        result = answer["prediction"]
        verdict = "the same person" if result["match"] else "not the same person"
        console.print(
            f"{verdict}: similarity {result.get('similarity', 0):.1f} of 100 (match at {result['threshold']})"
        )
        return _footer(answer)
    answer = _upload(ctx, endpoint or "faces", image=photo)
    if json:
        return as_json(answer)
    rows = [
        (
            f"{f['box']['left']:.0f},{f['box']['top']:.0f} {f['box']['width']:.0f}x{f['box']['height']:.0f}",
            f"{f['confidence']:.2f}",
            f"{f['quality']['score']:.2f}",
        )
        for f in answer["prediction"]["faces"]
    ]
    table(f"{len(rows)} face(s) in {photo.name}", ("box (left,top size)", "confidence", "quality"), rows)
    _footer(answer)


@app.command("moderate")
def moderate(ctx: typer.Context, photo: Photo, endpoint: Endpoint = None, json: JsonOption = False) -> None:
    """How likely the photo is unsafe, and the moderation labels."""
    answer = _upload(ctx, endpoint or "moderation", image=photo)
    if json:
        return as_json(answer)
    result = answer["prediction"]
    flagged = "FLAGGED" if result["flagged"] else "not flagged"
    names = ", ".join(label["name"] for label in result["labels"]) or "none"
    console.print(f"{flagged}: unsafe score {result['unsafe_score']:.3f}; labels: {names}")
    _footer(answer)


@app.command("text")
def text(ctx: typer.Context, photo: Photo, endpoint: Endpoint = None, json: JsonOption = False) -> None:
    """The text in an image, line by line (documents are read by Tesseract, photos by RapidOCR)."""
    answer = _upload(ctx, endpoint or "text", image=photo)
    if json:
        return as_json(answer)
    rows = [(line["text"], f"{line['confidence']:.2f}") for line in answer["prediction"]["lines"]]
    table(f"text in {photo.name} (read by {answer['prediction']['engine']})", ("line", "confidence"), rows)
    _footer(answer)


@collections.command("create")
def create(ctx: typer.Context, name: str, json: JsonOption = False) -> None:
    made = client(ctx).request("POST", "/v1/face-collections", json={"name": name}).json()
    return as_json(made) if json else console.print(f"face collection {name!r} created")


@collections.command("list")
def list_collections(ctx: typer.Context, json: JsonOption = False) -> None:
    found = client(ctx).request("GET", "/v1/face-collections").json()
    if json:
        return as_json(found)
    table("face collections", ("name", "faces", "created"), [(c["name"], c["faces"], c["created_at"]) for c in found])


@collections.command("index")
def index(
    ctx: typer.Context,
    name: str,
    photo: Photo,
    external_id: Annotated[str, typer.Option(help="Your id for this person or photo")],
    all_faces: Annotated[bool, typer.Option(help="Index every face, not only the largest")] = False,
    json: JsonOption = False,
) -> None:
    """Index the largest face of a photo (or all of them) under your id."""

    body = {"image": _image64(photo), "external_id": external_id, "all_faces": all_faces}
    done = client(ctx).request("POST", f"/v1/face-collections/{name}/faces", json=body).json()
    if json:
        return as_json(done)
    console.print(f"indexed {len(done['faces'])} face(s) as {external_id!r} in {name!r}")


@collections.command("search")
def search(
    ctx: typer.Context,
    name: str,
    photo: Photo,
    max_results: Annotated[int, typer.Option(help="Most matches shown")] = 5,
    json: JsonOption = False,
) -> None:
    """Who in the collection looks like the largest face of the photo."""

    body = {"image": _image64(photo), "max_results": max_results}
    found = client(ctx).request("POST", f"/v1/face-collections/{name}/search", json=body).json()
    if json:
        return as_json(found)
    rows = [(m["external_id"], m["face_id"], f"{m['similarity']:.1f}") for m in found["matches"]]
    table(f"matches in {name!r}", ("external id", "face id", "similarity"), rows)


@collections.command("delete")
def delete(ctx: typer.Context, name: str) -> None:
    client(ctx).request("DELETE", f"/v1/face-collections/{name}")
    console.print(f"face collection {name!r} deleted")


@app.command("video")
def video(
    ctx: typer.Context,
    clip: Annotated[Path, typer.Argument(help="A video file FFmpeg reads: MP4, MKV, WebM, AVI, MOV, ...")],
    every_seconds: Annotated[float, typer.Option(help="Seconds between sampled frames")] = 1.0,
    services: Annotated[str, typer.Option(help="Services run on every frame, comma-separated")] = "labels,faces",
    name: Annotated[str | None, typer.Option(help="The frames' dataset (default: video-<file name>)")] = None,
    json: JsonOption = False,
) -> None:
    """Sample a video's frames into a dataset and queue a batch-prediction job per service (run by `flywheel up`)."""
    data = {"every_seconds": str(every_seconds), "services": services, **({"name": name} if name else {})}
    answer = client(ctx).request("POST", "/v1/vision/video", files={"video": _file(clip)}, data=data).json()
    if json:
        return as_json(answer)
    console.print(f"{answer['frames']} frames in dataset {answer['dataset']!r}")
    table(
        "jobs", ("service", "job", "output dataset"), [(j["service"], j["job_id"], j["output"]) for j in answer["jobs"]]
    )
