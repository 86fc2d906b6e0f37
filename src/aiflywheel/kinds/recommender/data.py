"""From a dataset version to interactions and a catalogue.

One dataset carries everything: each row is an interaction (user, item, time, optional
event type and value), and item attributes (text, categories, availability, price) may
ride along on any row of that item, the latest non-empty value winning. A row whose
user is empty is a catalogue row: it declares an item, and its attributes, without an
interaction. That is how items nobody has touched yet enter the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from aiflywheel.errors import InvalidInput, KindFailed
from aiflywheel.kernel.kinds import Column, TrainingData
from aiflywheel.kinds.recommender.params import USUAL_NAMES, RecommenderParams


@dataclass
class Catalogue:
    """Item attributes by item index; each field is None when the dataset has no such column."""

    text: list[str] | None = None
    categories: list[list[str]] | None = None
    available: np.ndarray | None = None  # bool per item
    price: np.ndarray | None = None  # float per item, NaN when unknown


@dataclass
class Interactions:
    """Distinct (user, item) pairs with their summed weight and recency rank, plus the catalogue.

    ``rank`` counts a pair's position from a user's latest distinct item (0 = the
    latest); ``last`` is the time of the pair's latest event, in seconds.
    """

    user_ids: np.ndarray  # str, by user index
    item_ids: np.ndarray  # str, by item index (items with interactions first, then catalogue-only ones)
    user: np.ndarray
    item: np.ndarray
    weight: np.ndarray
    rank: np.ndarray
    last: np.ndarray
    catalogue: Catalogue
    n_events: int

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def matrix(self, rows: np.ndarray | None = None) -> sp.csr_matrix:
        """Users × items of summed event weights, from all pairs or the selected ones."""
        rows = np.arange(len(self.user)) if rows is None else rows
        return self._csr(rows, self.weight[rows])

    def history(self, half_life: float | None, rows: np.ndarray | None = None) -> sp.csr_matrix:
        """Like ``matrix``, each pair's weight halved every ``half_life`` newer items of its user."""
        rows = np.arange(len(self.user)) if rows is None else rows
        if half_life is None or not len(rows):
            return self._csr(rows, self.weight[rows])
        rank = self.rank[rows] - user_min(self.user[rows], self.rank[rows], self.n_users)  # within the kept rows
        return self._csr(rows, self.weight[rows] * 0.5 ** (rank / half_life))

    def _csr(self, rows: np.ndarray, values: np.ndarray) -> sp.csr_matrix:
        shape = (self.n_users, self.n_items)
        user = self.user[rows]
        if len(user) and np.all(user[1:] >= user[:-1]):  # rows grouped by user, as the pairs are: no sorting
            indptr = np.zeros(self.n_users + 1, dtype=np.int64)
            np.cumsum(np.bincount(user, minlength=self.n_users), out=indptr[1:])
            return sp.csr_matrix((values.astype(np.float32), self.item[rows], indptr), shape=shape)
        return sp.csr_matrix((values.astype(np.float32), (user, self.item[rows])), shape=shape)


def user_min(user: np.ndarray, values: np.ndarray, n_users: int) -> np.ndarray:
    """Each entry's user's smallest value (``np.minimum.at`` without its slowness)."""
    order = np.argsort(user, kind="stable")  # already grouped by user, in practice: a linear pass
    grouped = user[order]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
    lowest = np.full(n_users, np.inf, dtype=np.float64)
    lowest[grouped[starts]] = np.minimum.reduceat(values[order], starts) if len(starts) else []
    return lowest[user].astype(np.float32)


def check_columns(p: RecommenderParams, columns: Sequence[Column]) -> None:
    """Raise ``InvalidInput`` when a column the params need (or name explicitly) is missing or unusable."""
    names = [column.name for column in columns]
    logical = {column.name: column.logical for column in columns}
    shown = ", ".join(repr(name) for name in names[:50])
    for field in ("user_column", "item_column"):
        column = getattr(p, field)
        if column not in names:
            raise InvalidInput(
                f"{field.replace('_column', '')} column {column!r} is not in the dataset; available: {shown}"
            )
    if p.user_column == p.item_column:
        raise InvalidInput(f"user and item columns cannot both be {p.user_column!r}")
    for field in USUAL_NAMES:
        column = getattr(p, field)
        if column is not None and column not in names:
            raise InvalidInput(f"{field} {column!r} is not in the dataset; available: {shown}")
    for column in p.text_columns or []:
        if column not in names:
            raise InvalidInput(f"text column {column!r} is not in the dataset; available: {shown}")
    for field in ("event_value_column", "price_column"):
        column = p.column(field, names)
        if column in logical and logical[column] not in ("numeric", "other"):
            raise InvalidInput(f"{field} {column!r} must be numeric; it is {logical[column]}")
    if p.min_event_value is not None and p.column("event_value_column", names) is None:
        raise InvalidInput("min_event_value needs an event value column, and the dataset has none")


def read_interactions(data: TrainingData, p: RecommenderParams) -> Interactions:
    """Read, weight, de-duplicate and index the dataset's interactions and catalogue rows."""
    check_columns(p, data.columns)
    present = data.column_names()
    named = {field: p.column(field, present) for field in USUAL_NAMES}
    texts = p.texts(present)
    wanted = [p.user_column, p.item_column]
    wanted += [name for name in dict.fromkeys([*named.values(), *texts]) if name is not None and name not in wanted]
    try:
        table = data.read(wanted)
    except (pa.ArrowException, OSError) as exc:
        raise KindFailed(f"could not read the dataset at {data.path}: {exc}") from exc
    # Everything below works on integer codes of the ids (pyarrow's dictionary encoding): pandas' string
    # group-bys were most of the time of a small training.
    user_code, user_names = _codes(table[p.user_column])
    item_code, item_names = _codes(table[p.item_column])
    time_column = named["time_column"]
    seconds = _seconds(table, time_column) if time_column else np.arange(table.num_rows, dtype=float)
    weight = _weights(table, p, named["event_type_column"], named["event_value_column"])
    rows = np.flatnonzero(item_code >= 0)  # rows naming an item: interactions and catalogue rows
    if len(rows) == 0:
        raise InvalidInput(f"item column {p.item_column!r} has no values")
    events = rows[(user_code[rows] >= 0) & (weight[rows] > 0)]
    if len(events) == 0:
        raise InvalidInput(f"the dataset has no interactions: every row lacks a {p.user_column!r} or has weight 0")
    # users in the order of their ids (as text); one entry per (user, item) pair
    user_order = np.empty(len(user_names), dtype=np.int64)
    user_order[np.argsort(user_names, kind="stable")] = np.arange(len(user_names))
    pair_key = user_order[user_code[events]] * len(item_names) + item_code[events]
    by_pair = np.lexsort((events, pair_key))  # each pair's rows together, its latest row in the file last
    events, pair_key = events[by_pair], pair_key[by_pair]
    starts = np.flatnonzero(np.r_[True, pair_key[1:] != pair_key[:-1]])
    pair_weight = np.add.reduceat(weight[events], starts)
    pair_last = np.maximum.reduceat(seconds[events], starts)
    pair_row = events[np.r_[starts[1:], len(events)] - 1]
    # each user's pairs from the oldest to the latest event (file position breaks ties)
    order = np.lexsort((pair_row, pair_last, user_order[user_code[pair_row]]))
    pair_row, pair_weight, pair_last = pair_row[order], pair_weight[order], pair_last[order]
    pair_user, pair_item = user_order[user_code[pair_row]], item_code[pair_row]
    user_start = np.flatnonzero(np.r_[True, pair_user[1:] != pair_user[:-1]])
    sizes = np.diff(np.r_[user_start, len(pair_user)])
    user_index = np.repeat(np.arange(len(user_start)), sizes)
    rank = sizes[user_index] - 1 - (np.arange(len(pair_user)) - user_start[user_index])  # 0 = the latest
    # items with interactions first (in the order the pairs meet them), then catalogue-only ones
    warm = pd.unique(pair_item)
    has_pairs = np.zeros(len(item_names), dtype=bool)
    has_pairs[warm] = True
    named_items = pd.unique(item_code[rows])
    item_order = np.concatenate([warm, named_items[~has_pairs[named_items]]])
    item_index = np.full(len(item_names), -1, dtype=np.int64)
    item_index[item_order] = np.arange(len(item_order))
    users_in_order = user_code[pair_row[user_start]]
    catalogue = _catalogue(table, rows, seconds[rows], item_index[item_code[rows]], len(item_order), named, texts)
    return Interactions(
        user_ids=user_names[users_in_order],
        item_ids=item_names[item_order],
        user=user_index.astype(np.int64),
        item=item_index[pair_item],
        weight=pair_weight.astype(np.float32),
        rank=rank.astype(np.float32),
        last=pair_last.astype(np.float64),
        catalogue=catalogue,
        n_events=len(events),
    )


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(a code per row, -1 when missing; the ids by code, as str): 42 and "42" are one id, "" is missing."""
    if pa.types.is_floating(column.type):  # an integer id column with gaps may arrive as floats
        values = column.to_numpy(zero_copy_only=False)
        whole = np.isnan(values) | (values == np.round(values))
        if whole.all():
            column = pa.chunked_array([pa.array(values, mask=np.isnan(values)).cast(pa.int64(), safe=False)])
    try:
        strings = pc.cast(column, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InvalidInput(f"id column holds values that cannot be read as ids ({column.type}): {exc}") from exc
    encoded = strings.combine_chunks().dictionary_encode()
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    names = np.array(encoded.dictionary.to_pylist(), dtype=object)
    empty = np.flatnonzero(names == "")
    if len(empty):
        codes[codes == empty[0]] = -1
    return codes, names


def _seconds(table: pa.Table, name: str) -> np.ndarray:
    column = table[name]
    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        values = column.to_numpy(zero_copy_only=False).astype(np.float64)
    else:
        try:
            parsed = pd.to_datetime(column.to_pandas(), utc=True, format="mixed")
        except (ValueError, TypeError, OverflowError) as exc:
            raise InvalidInput(f"time column {name!r} holds values that are not dates or times: {exc}") from exc
        values = (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(dtype=np.float64)  # NaT: NaN
    values = np.asarray(values, dtype=np.float64)
    if np.isnan(values).all():
        return np.zeros(len(values))
    return np.where(np.isnan(values), np.nanmin(values), values)  # rows without a time count as the oldest


def _weights(table: pa.Table, p: RecommenderParams, type_column: str | None, value_column: str | None) -> np.ndarray:
    if any(w < 0 for w in p.event_weights.values()):
        raise InvalidInput("event_weights must be 0 or more")
    weight = np.ones(table.num_rows, dtype=np.float64)
    if type_column is not None and p.event_weights:
        types = pc.cast(table[type_column], pa.string()).to_pandas()
        weight *= types.map(p.event_weights).fillna(1.0).to_numpy(dtype=np.float64)
    if value_column is not None:
        values = table[value_column].to_numpy(zero_copy_only=False).astype(np.float64)
        if p.min_event_value is not None:
            weight[~(values >= p.min_event_value)] = 0.0
        values = np.where(np.isnan(values), 1.0, values)
        if (values < 0).any():
            raise InvalidInput(f"event value column {value_column!r} has negative values; weights must be 0 or more")
        weight *= values
    return weight


def _catalogue(
    table: pa.Table, rows: np.ndarray, seconds: np.ndarray, item_of: np.ndarray, n_items: int, named: dict, texts: list
) -> Catalogue:
    """The latest non-empty value of each attribute per item (``seconds`` and ``item_of`` by entry of ``rows``)."""
    catalogue = Catalogue()
    if not texts and not any(named[field] for field in ("category_column", "available_column", "price_column")):
        return catalogue
    order = np.argsort(seconds, kind="stable")
    item_of = item_of[order]
    source = rows[order]

    def latest(name: str) -> pd.Series:
        values = table[name].take(pa.array(source)).to_pandas()
        values.index = item_of
        values = values[values.notna()]
        if values.dtype == object:
            values = values[values.astype(str).str.strip() != ""]
        return values.groupby(level=0).last().reindex(range(n_items))

    if texts:
        parts = [latest(name).map(lambda value: "" if pd.isna(value) else str(value)) for name in texts]
        joined = parts[0]
        for part in parts[1:]:
            joined = joined.str.cat(part, sep=". ").str.strip(". ")
        catalogue.text = joined.tolist()
    if named["category_column"]:
        catalogue.categories = [_split_categories(value) for value in latest(named["category_column"])]
        if catalogue.text is not None:  # the categories describe the item too: "garden hose (garden)"
            catalogue.text = [
                f"{text} ({', '.join(names)})" if text and names else text
                for text, names in zip(catalogue.text, catalogue.categories, strict=True)
            ]
    if named["available_column"]:
        catalogue.available = latest(named["available_column"]).map(_truthy).to_numpy(dtype=bool)
    if named["price_column"]:
        catalogue.price = pd.to_numeric(latest(named["price_column"]), errors="coerce").to_numpy(dtype=np.float64)
    return catalogue


def _split_categories(value) -> list[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, list | tuple | np.ndarray):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split("|") if part.strip()]


def _truthy(value) -> bool:
    """Availability: unknown counts as available; false, 0, 'no', 'false', 'out of stock' do not."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return True
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no", "n", "f", "unavailable", "out of stock")
    return bool(value)
