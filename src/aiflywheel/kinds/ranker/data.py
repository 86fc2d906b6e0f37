"""Reading a ranker dataset: document rows (no query) and judgment rows (query, doc_id, relevance)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.kinds import Column, TrainingData
from aiflywheel.kinds.ranker.params import RankerParams


@dataclass
class Documents:
    doc_ids: list[str]
    fields: dict[str, list[str]]
    attributes: pd.DataFrame
    skipped: int  # document rows without any text


@dataclass
class Judgments:
    """Graded relevance per query: ``queries[key] = text``, ``relevance[key] = {doc_id: gain}``."""

    queries: dict[str, str]
    relevance: dict[str, dict[str, int]]

    def __len__(self) -> int:
        return len(self.queries)

    def subset(self, keys: list[str]) -> Judgments:
        return Judgments({k: self.queries[k] for k in keys}, {k: self.relevance[k] for k in keys})


def check_columns(p: RankerParams, columns: tuple[Column, ...] | list[str]) -> None:
    """Raise ``InvalidInput`` naming what is missing before any work."""
    names = [c.name if isinstance(c, Column) else c for c in columns]
    if p.doc_id_column not in names:
        raise InvalidInput(f"the dataset has no document id column {p.doc_id_column!r} (columns: {', '.join(names)})")
    fields = p.fields(names)
    if not fields:
        raise InvalidInput(
            f"the dataset has no text to search: name text_fields, or add a title, body or text column "
            f"(columns: {', '.join(names)})"
        )
    missing = [name for name in fields if name not in names]
    if missing:
        raise InvalidInput(f"text_fields names columns the dataset lacks: {', '.join(missing)}")
    unknown = [name for name in list(p.field_weights) if name not in fields]
    if unknown:
        raise InvalidInput(
            f"field_weights names fields that are not searched: {', '.join(unknown)} (text fields: {', '.join(fields)})"
        )
    absent = [name for name in p.boosts if name not in names]
    if absent:
        raise InvalidInput(f"boosts name columns the dataset lacks: {', '.join(absent)}")
    if p.query_column in names and p.relevance_column not in names:
        raise InvalidInput(f"judgment rows need a relevance column {p.relevance_column!r} beside {p.query_column!r}")


def read(data: TrainingData, p: RankerParams) -> tuple[Documents, Judgments]:
    check_columns(p, data.columns)
    frame = data.to_pandas()
    if p.query_column in frame.columns:
        judged = frame[p.query_column].notna() & (frame[p.query_column].astype(str).str.strip() != "")
    else:
        judged = pd.Series(False, index=frame.index)
    return documents(frame[~judged], p), judgments(frame[judged], p)


def documents(frame: pd.DataFrame, p: RankerParams) -> Documents:
    fields = p.fields(frame.columns)
    texts = frame[fields].astype("string").fillna("")
    has_text = texts.apply(lambda column: column.str.strip() != "").any(axis=1).to_numpy()
    ids = frame[p.doc_id_column]
    has_id = ids.notna().to_numpy()
    keep = frame[has_text & has_id].copy()
    keep["__id"] = keep[p.doc_id_column].astype(str)
    keep = keep.drop_duplicates("__id", keep="last")  # a later row of a document replaces an earlier one
    if keep.empty:
        raise InvalidInput(f"the dataset has no document rows with an id and some text in {', '.join(fields)}")
    reserved = {p.doc_id_column, p.query_column, p.query_id_column, p.relevance_column, "__id", *fields}
    attributes = keep[[c for c in keep.columns if c not in reserved]].reset_index(drop=True).infer_objects()
    return Documents(
        doc_ids=keep["__id"].tolist(),
        fields={name: keep[name].astype("string").fillna("").tolist() for name in fields},
        attributes=attributes,
        skipped=int(len(frame) - len(keep)),
    )


def judgments(frame: pd.DataFrame, p: RankerParams) -> Judgments:
    """Judgment rows grouped by query id (else by query text); a document judged twice keeps its highest gain."""
    if frame.empty:
        return Judgments({}, {})
    relevance = pd.to_numeric(frame[p.relevance_column], errors="coerce")
    if relevance.isna().any():
        bad = frame[p.relevance_column][relevance.isna()].iloc[0]
        raise InvalidInput(f"column {p.relevance_column!r} must hold numbers on judgment rows (got {bad!r})")
    if (relevance < 0).any():
        raise InvalidInput(f"column {p.relevance_column!r} must be >= 0 (got {relevance.min()})")
    text = frame[p.query_column].astype(str)
    if p.query_id_column in frame.columns:
        ids = frame[p.query_id_column]
        keys = np.where(ids.notna(), "id:" + ids.astype(str), "q:" + text.str.strip().str.lower())
    else:
        keys = ("q:" + text.str.strip().str.lower()).to_numpy()
    queries: dict[str, str] = {}
    graded: dict[str, dict[str, int]] = {}
    gains = np.clip(np.rint(relevance.to_numpy(dtype=np.float64)), 0, 30).astype(int)
    for key, query, doc, gain in zip(keys, text, frame[p.doc_id_column].astype(str), gains, strict=True):
        queries.setdefault(key, query)
        per = graded.setdefault(key, {})
        per[doc] = max(per.get(doc, 0), int(gain))
    return Judgments(queries, graded)
