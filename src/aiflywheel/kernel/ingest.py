"""Ingest: stream a user's CSV, Parquet or JSON-lines file into one Parquet file.

The file is read a megabyte at a time and written a row group at a time, so a file larger
than memory converts in bounded memory. Column types are inferred from the data; when a
later block does not fit the type guessed from earlier ones (an integer column that turns
out to hold ``1.5``), the conversion starts again with that column widened instead of
failing. Every problem with the input is an ``InvalidInput`` naming the file and, where
known, the row or column, and nothing is left behind in ``workdir``.
"""

from __future__ import annotations

import codecs
import io
import json
import math
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.kinds import Column

FORMATS = ("csv", "parquet", "jsonl")
OUTPUT_NAME = "data.parquet"
_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_SUFFIXES |= {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
_SUPPORTED = "csv (.csv, .tsv), parquet (.parquet, .pq), jsonl (.jsonl, .ndjson, .json)"
_BLOCK_BYTES = 1 << 20  # the CSV reader holds ~35 MB per MB of block: bigger blocks cost RSS, not speed
_ROW_GROUP_BYTES = 16 << 20  # of Arrow data, ~100k rows of a typical table: buffering more costs RSS
_PREVIEW_ROWS = 20
_MAX_CATEGORIES = 1000  # a string column with more distinct values than this is free text
_CSV_RAGGED = re.compile(r"Row #(\d+): Expected (\d+) columns, got (\d+): (.*)", re.S)
_CSV_CONVERSION = re.compile(
    r"In CSV column #(\d+): (?:Row #\d+: )?CSV conversion error to (.+?): invalid value '(.*)'", re.S
)


@dataclass(frozen=True)
class IngestResult:
    """The Parquet file written, its schema, its row count and its first rows as JSON values."""

    path: Path
    columns: tuple[Column, ...]
    row_count: int
    preview: list[dict]


class _Widen(Exception):
    """A block needs wider types than those already written: start the conversion again."""

    def __init__(self, types: dict[str, pa.DataType]):
        super().__init__(types)
        self.types = types


def ingest(
    source: Path,
    workdir: Path,
    format: str | None = None,
    encoding: str = "utf-8",
    columns: list[str] | None = None,
) -> IngestResult:
    """Convert ``source`` into ``workdir/data.parquet`` with one schema inferred from all its rows.

    Parameters
    ----------
    source : Path
        A CSV (``.csv``, or ``.tsv`` for tab-separated), Parquet (``.parquet``, ``.pq``) or
        JSON-lines (``.jsonl``, ``.ndjson``, ``.json``: one object per line) file.
    workdir : Path
        Directory for the output, created if missing; a failed call leaves nothing in it.
    format : str, optional
        One of ``FORMATS``; by default taken from the suffix of ``source``.
    encoding : str
        Text encoding of CSV and JSON-lines files, e.g. ``"latin-1"``.
    columns : list of str, optional
        Keep only these columns, in this order. For JSON lines, a column must appear in the
        first megabyte of the file.

    Returns
    -------
    IngestResult
        The Parquet path, one ``Column`` per column (``logical`` is numeric, boolean,
        categorical, datetime, text or other), the row count and the first 20 rows.

    Raises
    ------
    InvalidInput
        If the file is missing, empty or has no rows; is not in the format its suffix says;
        is not in ``encoding``; has a row with the wrong number of fields, an invalid JSON
        line, duplicate column names, or lacks a column named in ``columns``. An empty CSV
        header is not rejected: that column is named ``column_<position>``, counting from 1.
    """
    source, workdir = Path(source), Path(workdir)
    read = {"csv": _read_csv, "parquet": _read_parquet, "jsonl": _read_jsonl}[_format_of(source, format)]
    if not source.is_file():
        raise InvalidInput(f"{source.name} does not exist or is not a file")
    if source.stat().st_size == 0:
        raise InvalidInput(f"{source.name} is empty (0 bytes): it has no rows")
    try:
        codecs.lookup(encoding)
    except LookupError as exc:
        raise InvalidInput(f"unknown encoding {encoding!r} given for {source.name}") from exc
    workdir.mkdir(parents=True, exist_ok=True)
    partial = workdir / f".{OUTPUT_NAME}.{uuid.uuid4().hex}.partial"
    types: dict[str, pa.DataType] = {}
    try:
        while True:  # ends: each restart widens a column (null < int < float < string) or adds one
            try:
                profile = _write(read(source, encoding, columns, types), partial)
                break
            except _Widen as widen:
                changed = {name: t for name, t in widen.types.items() if types.get(name) != t}
                if not changed:
                    raise InvalidInput(f"{source.name}: could not settle the column types") from widen
                types.update(changed)
        if profile is None or profile.rows == 0:
            raise InvalidInput(f"{source.name} has no rows")
        final = workdir / OUTPUT_NAME
        partial.replace(final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return IngestResult(final, profile.columns(), profile.rows, profile.preview)


def _format_of(source: Path, format: str | None) -> str:
    found = _SUFFIXES.get(source.suffix.lower()) if format is None else format.lower()
    if found not in FORMATS:
        what = f"unknown format {format!r}" if format else "cannot tell the format from the suffix"
        raise InvalidInput(f"{source.name}: {what}; supported formats: {_SUPPORTED} (or pass format=)")
    return found


def _write(batches: Iterator[pa.RecordBatch], path: Path) -> _Profile | None:
    profile, writer, pending, pending_bytes, flushing = None, None, [], 0, None

    def flush() -> Future:
        if flushing is not None:
            flushing.result()  # one row group in flight at most bounds memory
        return pool.submit(writer.write_table, pa.Table.from_batches(pending))

    try:
        # Encoding a row group on the pool's thread overlaps with parsing the next one.
        with ThreadPoolExecutor(max_workers=1) as pool:
            for batch in batches:
                if writer is None:
                    writer, profile = pq.ParquetWriter(path, batch.schema), _Profile(batch.schema)
                profile.add(batch)
                pending.append(batch)
                pending_bytes += batch.nbytes
                if pending_bytes >= _ROW_GROUP_BYTES:
                    flushing, pending, pending_bytes = flush(), [], 0
            if pending:
                flushing = flush()
            if flushing is not None:
                flushing.result()
    finally:
        if writer is not None:
            writer.close()
    return profile


class _Profile:
    """Rows, nulls and a capped distinct count per string column, gathered batch by batch."""

    def __init__(self, schema: pa.Schema):
        self.schema, self.rows, self.nulls, self.preview = schema, 0, [0] * len(schema), []
        self.distinct: dict[int, set | None] = {i: set() for i, f in enumerate(schema) if _is_string(f.type)}

    def add(self, batch: pa.RecordBatch) -> None:
        if len(self.preview) < _PREVIEW_ROWS:
            rows = batch.slice(0, _PREVIEW_ROWS - len(self.preview)).to_pylist()
            self.preview += [{key: _jsonable(value) for key, value in row.items()} for row in rows]
        self.rows += batch.num_rows
        for i, column in enumerate(batch.columns):
            self.nulls[i] += column.null_count
        for i, seen in self.distinct.items():
            values = pc.unique(batch.column(i)) if seen is not None else []
            if len(values) > _MAX_CATEGORIES:  # too many to be worth converting to Python
                self.distinct[i] = None
            elif seen is not None:
                seen.update(values.drop_null().to_pylist())
                self.distinct[i] = seen if len(seen) <= _MAX_CATEGORIES else None

    def columns(self) -> tuple[Column, ...]:
        return tuple(Column(f.name, str(f.type), self._logical(i), self.nulls[i]) for i, f in enumerate(self.schema))

    def _logical(self, i: int) -> str:
        type_ = self.schema.field(i).type
        if _is_string(type_):
            seen = self.distinct[i]
            return "categorical" if seen and 2 * len(seen) <= self.rows - self.nulls[i] else "text"
        kinds = {"numeric": (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal)}
        kinds |= {"boolean": (pa.types.is_boolean,), "datetime": (pa.types.is_timestamp, pa.types.is_date)}
        kinds |= {"categorical": (pa.types.is_dictionary,)}
        return next((kind for kind, tests in kinds.items() if any(test(type_) for test in tests)), "other")


def _read_csv(source: Path, encoding: str, columns: list[str] | None, types: dict) -> Iterator[pa.RecordBatch]:
    with source.open("rb") as file:  # else pyarrow reports a Parquet or Excel file as ragged rows of junk
        if b"\x00" in file.read(4096) and not codecs.lookup(encoding).name.startswith(("utf-16", "utf-32")):
            raise InvalidInput(f"{source.name} holds binary data, not CSV text (for UTF-16, pass encoding=)")
    delimiter = "\t" if source.suffix.lower() == ".tsv" else ","
    parse = pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    # Single-threaded, pyarrow's errors carry row numbers; streaming, it is no slower. (Its
    # invalid_row_handler would too, but it fails unraisably on rows that are not UTF-8.)
    read = pa_csv.ReadOptions(block_size=_BLOCK_BYTES, encoding=encoding, use_threads=False)
    names: list[str] = []
    try:
        with pa_csv.open_csv(source, read, parse) as first:
            schema = first.schema
        names = [name or f"column_{position}" for position, name in enumerate(schema.names, 1)]
        keep = _select(names, columns, source)
        if any(pa.types.is_binary(field.type) for field in schema):
            raise _encoding_error(source, encoding)
        read.column_names, read.skip_rows = names, 1
        convert = pa_csv.ConvertOptions(column_types=types, include_columns=keep, strings_can_be_null=True)
        with pa_csv.open_csv(source, read, parse, convert) as reader:
            yield from reader
    except (pa.ArrowInvalid, UnicodeError) as exc:
        raise _csv_failure(exc, source, encoding, names) from exc


def _csv_failure(exc: Exception, source: Path, encoding: str, names: list[str]) -> Exception:
    text = str(exc)
    if isinstance(exc, UnicodeError) or "invalid UTF8" in text:
        return _encoding_error(source, encoding)
    if "Empty CSV file" in text:
        return InvalidInput(f"{source.name} has no header and no rows")
    found = _CSV_CONVERSION.search(text)
    if found and int(found[1]) < len(names):
        return _Widen({names[int(found[1])]: _wider(found[2], found[3])})
    if found := _CSV_RAGGED.search(text):
        return InvalidInput(
            f"{source.name}: row {found[1]} (counting the header as row 1) has {found[3]} values "
            f"but the header has {found[2]} columns: {found[4][:100]!r}"
        )
    return InvalidInput(f"{source.name} could not be read as CSV: {text[:300]}")


def _wider(current: str, value: str) -> pa.DataType:
    """The narrowest type past ``current`` that holds ``value``; booleans and dates go to string."""
    if current == "null" and re.fullmatch(r"[+-]?\d+", value):
        return pa.int64()
    if current in ("null", "int64") and re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", value):
        return pa.float64()
    return pa.string()


def _read_parquet(source: Path, encoding: str, columns: list[str] | None, types: dict) -> Iterator[pa.RecordBatch]:
    try:
        file = pq.ParquetFile(source)
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInput(f"{source.name} is not a Parquet file: {exc}") from exc
    with file:
        keep = _select(file.schema_arrow.names, columns, source)
        try:
            for batch in file.iter_batches(batch_size=65_536, columns=keep):
                # pandas writes large_string: one string type keeps datasets alike whatever their source.
                fields = [f.with_type(pa.string()) if _is_string(f.type) else f for f in batch.schema]
                yield batch.cast(pa.schema(fields))
        except (pa.ArrowException, OSError) as exc:
            raise InvalidInput(f"{source.name} is a damaged Parquet file: {exc}") from exc


def _read_jsonl(source: Path, encoding: str, columns: list[str] | None, types: dict) -> Iterator[pa.RecordBatch]:
    # pyarrow's streaming JSON reader fixes types from its first block and cannot add fields
    # later, so each chunk of lines is parsed alone and conformed to the types seen so far.
    target, started, line = dict(types), False, 1
    with source.open("rb") as file:
        while lines := file.readlines(_BLOCK_BYTES):
            table = _parse_json(b"".join(lines), line, line + len(lines) - 1, source, encoding, target)
            if columns is not None:
                if not started and table.num_rows:
                    target = {
                        name: target.get(name, pa.null()) for name in _select(table.column_names, columns, source)
                    }
                table = table.select([name for name in target if name in table.column_names])
            merged = _merge(target, table.schema, source, line)
            if list(merged.items()) != list(target.items()):
                if started:
                    raise _Widen(merged)
                target = merged
            started = started or table.num_rows > 0
            arrays = [
                table[n].cast(t) if n in table.column_names else pa.nulls(len(table), t) for n, t in target.items()
            ]
            yield from pa.Table.from_arrays(arrays, schema=pa.schema(list(target.items()))).to_batches()
            line += len(lines)


def _parse_json(data: bytes, first: int, last: int, source: Path, encoding: str, target: dict) -> pa.Table:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise _encoding_error(source, encoding, first + data.count(b"\n", 0, exc.start)) from exc
    data = (text.removeprefix("\ufeff") if first == 1 else text).encode()
    # A null type cannot be given explicitly: such columns are inferred afresh in each chunk.
    known = pa.schema([(name, t) for name, t in target.items() if not pa.types.is_null(t)])
    for schema in (known, None):  # if the known types fail, the chunk's own types say what to widen
        try:
            return pa_json.read_json(
                io.BytesIO(data),
                read_options=pa_json.ReadOptions(use_threads=False, block_size=len(data) + 1),
                parse_options=pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer"),
            )
        except pa.ArrowInvalid as exc:
            failure = exc
    for offset, raw in enumerate(text.split("\n")):  # pyarrow's row numbers skip blank lines
        try:
            value = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            raise InvalidInput(f"{source.name}: line {first + offset} is not valid JSON ({exc})") from failure
        if not isinstance(value, dict):
            raise InvalidInput(f"{source.name}: line {first + offset} is not a JSON object") from failure
    raise InvalidInput(f"{source.name}: lines {first}-{last} cannot be read as JSON lines: {failure}") from failure


def _merge(target: dict, schema: pa.Schema, source: Path, line: int) -> dict[str, pa.DataType]:
    merged = dict(target)
    for name, old, new in ((f.name, merged.get(f.name), f.type) for f in schema):
        if old is None or pa.types.is_null(old):
            merged[name] = new
        elif all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in (old, new)) and old != new:
            merged[name] = pa.float64()
        elif all(_is_string(t) or pa.types.is_temporal(t) for t in (old, new)) and old != new:
            merged[name] = pa.string()
        elif not pa.types.is_null(new) and new != old:
            raise InvalidInput(
                f"{source.name}: column {name!r} holds {old} values before line {line} "
                f"and {new} values after; give each column one JSON type"
            )
    return merged


def _select(names: list[str], columns: list[str] | None, source: Path) -> list[str] | None:
    for name, count in Counter(names).items():
        if count > 1:
            raise InvalidInput(f"{source.name} has more than one column named {name!r}")
    if columns is None:
        return None
    if not columns or len(set(columns)) != len(columns):
        raise InvalidInput(f"columns must name at least one column of {source.name}, each once")
    for name in columns:
        if name not in names:
            shown = ", ".join(map(repr, names[:50])) + (f" and {len(names) - 50} more" if len(names) > 50 else "")
            raise InvalidInput(f"{source.name} has no column {name!r}; its columns are {shown}")
    return list(columns)


def _encoding_error(source: Path, encoding: str, line: int | None = None) -> InvalidInput:
    if line is None:  # pyarrow does not say where; a second pass does, and only on failure
        decoder = codecs.getincrementaldecoder(encoding)()
        with source.open("rb") as file:
            for number, raw in enumerate(file, 1):
                try:
                    decoder.decode(raw)
                except UnicodeDecodeError:
                    line = number
                    break
    where = f" (line {line})" if line else ""
    return InvalidInput(
        f"{source.name} is not valid {codecs.lookup(encoding).name.upper()} text{where}; "
        "pass its encoding with the encoding option, e.g. encoding='latin-1'"
    )


def _is_string(type_: pa.DataType) -> bool:
    return pa.types.is_string(type_) or pa.types.is_large_string(type_) or pa.types.is_string_view(type_)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta | Decimal):
        return value.total_seconds() if isinstance(value, timedelta) else float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return [_jsonable(item) for item in value] if isinstance(value, list | tuple) else value
