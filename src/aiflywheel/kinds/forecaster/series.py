"""The long table turned into clean, regular series: ids, timestamps, values, covariates.

Every problem is an ``InvalidInput`` naming the series, the timestamp and the column.
Internally a series is ``unique_id`` (str), ``ds`` (datetime64 or int64) and ``y``
(float), as statsforecast and mlforecast expect.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from aiflywheel.errors import InvalidInput
from aiflywheel.kinds.forecaster.params import ForecasterParams

MIN_OBSERVATIONS = 3
# Periods per season by the offset's base unit (multiples divide it when they can).
SEASONS = {"h": 24, "min": 60, "s": 60, "D": 7, "B": 5, "W": 52, "M": 12, "Q": 4, "Y": 1}


@dataclass
class Panel:
    """Regular series ready for the models."""

    frame: pd.DataFrame  # unique_id, ds, y, covariates..., static columns...
    future: pd.DataFrame  # unique_id, ds, covariates...: known future covariates (may be empty)
    freq: str | int  # a pandas offset alias, or the integer step of integer time
    season_length: int
    integer_time: bool
    dropped: dict[str, str]  # series left out, with the reason

    def ids(self) -> list[str]:
        return list(self.frame["unique_id"].unique())

    def step(self, start, periods: int) -> list:
        """The ``periods`` timestamps after ``start``."""
        if self.integer_time:
            return [int(start) + int(self.freq) * k for k in range(1, periods + 1)]
        return list(pd.date_range(start, periods=periods + 1, freq=self.freq)[1:])


def load_panel(raw: pd.DataFrame, p: ForecasterParams) -> Panel:
    """Check, type, de-duplicate and regularize the long table."""
    missing = [c for c in (p.id_column, p.time_column, p.target, *p.covariates, *p.static_columns) if c not in raw]
    if missing:
        raise InvalidInput(f"columns {missing} are not in the dataset; available: {list(raw.columns)}")
    raw = raw.reset_index(drop=True)
    frame = pd.DataFrame({"unique_id": _ids(raw[p.id_column], p.id_column)})
    frame["ds"], integer_time = _times(raw[p.time_column], frame["unique_id"], p.time_column)
    frame["y"] = _numbers(raw[p.target], frame, p.target)
    for name in p.covariates:
        frame[name] = _numbers(raw[name], frame, name)
    for name in p.static_columns:
        frame[name] = raw[name].to_numpy()
    frame = frame.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    frame = _deduplicate(frame, p)
    frame, future = _split_future(frame, p)
    frame, dropped = _drop_short(frame)
    freq = _frequency(frame, integer_time, p)
    frame = _regularize(frame, freq, integer_time, p)
    _check_static(frame, p)
    frame = _fill_covariates(frame, p)
    season = p.season_length or season_of(freq)
    return Panel(frame, future, freq, season, integer_time, dropped)


def season_of(freq: str | int) -> int:
    """Periods per season for a frequency: 12 for monthly, 7 for daily, 1 for yearly or integer time."""
    if isinstance(freq, int):
        return 1
    offset = to_offset(freq)
    base = offset.rule_code.split("-")[0].rstrip("SE") or offset.rule_code
    for code in (base, base[:1], base.upper()[:1]):
        if code in SEASONS:
            season = SEASONS[code]
            n = max(1, offset.n)
            return season // n if season % n == 0 and season // n > 1 else 1
    return 1


def default_horizon(season: int) -> int:
    return min(max(2 * season, 6), 120)


def _ids(column: pd.Series, name: str) -> pd.Series:
    nulls = column.isna().to_numpy()
    if nulls.any():
        raise InvalidInput(f"id column {name!r} is empty in row {int(np.argmax(nulls))}")
    return column.astype(str)


def _times(column: pd.Series, ids: pd.Series, name: str) -> tuple[pd.Series, bool]:
    nulls = column.isna().to_numpy()
    if nulls.any():
        row = int(np.argmax(nulls))
        raise InvalidInput(f"time column {name!r} is empty in row {row} (series {ids.iloc[row]!r})")
    if pd.api.types.is_integer_dtype(column.dtype):
        return column.astype("int64").reset_index(drop=True), True
    if pd.api.types.is_float_dtype(column.dtype):
        whole = np.mod(column.to_numpy(), 1) == 0
        if whole.all():
            return column.astype("int64").reset_index(drop=True), True
        row = int(np.argmin(whole))
        raise InvalidInput(
            f"time column {name!r} holds {column.iloc[row]!r} for series {ids.iloc[row]!r}: "
            "numeric times must be whole periods"
        )
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        column = column.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return column.astype("datetime64[ns]").reset_index(drop=True), False
    parsed = pd.to_datetime(column.astype(str), errors="coerce", format="mixed")
    bad = parsed.isna().to_numpy()
    if bad.any():
        row = int(np.argmax(bad))
        raise InvalidInput(
            f"time column {name!r} holds {column.iloc[row]!r} for series {ids.iloc[row]!r}, which is not a date or time"
        )
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed.astype("datetime64[ns]").reset_index(drop=True), False


def _numbers(column: pd.Series, frame: pd.DataFrame, name: str) -> np.ndarray:
    values = pd.to_numeric(column.reset_index(drop=True), errors="coerce").astype("float64").to_numpy()
    bad = (np.isnan(values) & column.notna().to_numpy()) | np.isinf(values)
    if bad.any():
        row = int(np.argmax(bad))
        raise InvalidInput(
            f"column {name!r} holds {_plain(column.iloc[row])!r} for series {frame['unique_id'].iloc[row]!r} at "
            f"{_show(frame['ds'].iloc[row])}, which is not a finite number"
        )
    return values


def _deduplicate(frame: pd.DataFrame, p: ForecasterParams) -> pd.DataFrame:
    repeated = frame.duplicated(["unique_id", "ds"], keep=False).to_numpy()
    if not repeated.any():
        return frame
    keys = [frame["unique_id"], frame["ds"]]
    # A row with the value and a row with only covariates for the same period (an actual sent as
    # feedback for a period the table had future covariates for) are one observation, not two.
    values = frame["y"].notna().groupby(keys).transform("sum").to_numpy()
    clashing = repeated & (values > 1)
    if clashing.any() and p.duplicates == "reject":
        row = frame.iloc[int(np.argmax(clashing))]
        count = int(((frame["unique_id"] == row["unique_id"]) & clashing).sum())
        raise InvalidInput(
            f"series {row['unique_id']!r} has {count} rows sharing timestamps, first at "
            f"{_show(row['ds'])}; set duplicates to 'sum', 'mean' or 'last' to combine them"
        )
    how = "last" if p.duplicates == "reject" else p.duplicates
    rules = {"y": (lambda s: s.sum(min_count=1)) if how == "sum" else how}
    rules.update({name: "last" for name in (*p.covariates, *p.static_columns)})
    return frame.groupby(["unique_id", "ds"], sort=True, as_index=False).agg(rules)


def _split_future(frame: pd.DataFrame, p: ForecasterParams) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows after a series' last value are future covariates; rows before its first value are dropped."""
    observed = frame["y"].notna()
    seen = observed.groupby(frame["unique_id"]).cumsum()
    total = seen.groupby(frame["unique_id"]).transform("max")
    started = seen > 0
    after = seen == total
    trailing = after & ~observed & started
    future = frame.loc[trailing, ["unique_id", "ds", *p.covariates]].reset_index(drop=True)
    keep = started & ~trailing
    return frame.loc[keep].reset_index(drop=True), future


def _frequency(frame: pd.DataFrame, integer_time: bool, p: ForecasterParams) -> str | int:
    if integer_time:
        if p.frequency is not None:
            raise InvalidInput(f"frequency {p.frequency!r} was given but time column {p.time_column!r} holds integers")
        steps = frame.groupby("unique_id")["ds"].diff().dropna().astype("int64").unique()
        step = int(np.gcd.reduce(steps)) if len(steps) else 1
        return max(step, 1)
    if p.frequency is not None:
        try:
            return to_offset(p.frequency).freqstr
        except ValueError as exc:
            raise InvalidInput(
                f"frequency {p.frequency!r} is not a pandas offset alias such as 'D', 'W', 'MS'"
            ) from exc
    votes: Counter[str] = Counter()
    lengths = frame.groupby("unique_id").size().sort_values(ascending=False)
    for uid in lengths.index[:50]:
        stamps = pd.DatetimeIndex(frame.loc[frame["unique_id"] == uid, "ds"])
        for start in range(0, max(1, len(stamps) - 2), 8):
            window = stamps[start : start + 8]
            if len(window) >= 3:
                with pd.option_context("future.infer_freq_returns_offset", True):
                    guess = pd.infer_freq(window)
                if guess is not None:
                    votes[to_offset(guess).freqstr] += 1
    if not votes:
        guess = _from_spacing(frame)
        if guess is not None:
            return guess
        raise InvalidInput(
            f"could not infer the frequency from time column {p.time_column!r}; set 'frequency' (e.g. 'D', 'W', 'MS')"
        )
    return to_offset(votes.most_common(1)[0][0]).freqstr


def _from_spacing(frame: pd.DataFrame) -> str | None:
    """The frequency from the most common spacing between timestamps (for series with gaps)."""
    spacing = frame.groupby("unique_id", sort=False)["ds"].diff().dropna()
    if spacing.empty:
        return None
    step = spacing.mode().iloc[0]
    days = step / pd.Timedelta(days=1)
    stamps = pd.DatetimeIndex(frame["ds"])
    starts = bool((stamps.day == 1).all())
    for low, high, begin, end in ((28, 31, "MS", "ME"), (89, 92, "QS", "QE"), (365, 366, "YS", "YE")):
        if low <= days <= high:
            return begin if starts else end
    if days == 7:
        return f"W-{stamps[0].day_name()[:3].upper()}"
    if days >= 1 and float(days).is_integer():
        return "D" if days == 1 else f"{int(days)}D"
    return to_offset(step).freqstr


def _drop_short(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    counts = frame.groupby("unique_id")["y"].count()
    short = counts[counts < MIN_OBSERVATIONS]
    dropped = {uid: f"{n} observations; at least {MIN_OBSERVATIONS} are needed" for uid, n in short.items()}
    if len(short) == len(counts):
        raise InvalidInput(f"every series has fewer than {MIN_OBSERVATIONS} observations")
    if dropped:
        frame = frame.loc[~frame["unique_id"].isin(short.index)].reset_index(drop=True)
    return frame, dropped


def _regularize(frame: pd.DataFrame, freq: str | int, integer_time: bool, p: ForecasterParams) -> pd.DataFrame:
    """Every period between a series' first and last value present; off-grid timestamps are errors."""
    if _already_regular(frame, freq, integer_time):
        return frame
    pieces = []
    for uid, group in frame.groupby("unique_id", sort=False):
        stamps = group["ds"]
        if integer_time:
            grid = pd.Index(np.arange(stamps.iloc[0], stamps.iloc[-1] + 1, int(freq)), dtype="int64")
        else:
            grid = pd.date_range(stamps.iloc[0], stamps.iloc[-1], freq=freq)
        off = ~pd.Index(stamps).isin(grid)
        if off.any():
            bad = stamps.iloc[int(np.argmax(off))]
            raise InvalidInput(
                f"series {uid!r} has timestamp {_show(bad)}, which is not on the {_freq_name(freq)} grid "
                f"starting at {_show(stamps.iloc[0])}; set 'frequency' if the inferred one is wrong"
            )
        if len(grid) == len(group) and not group["y"].isna().any():
            pieces.append(group)
            continue
        filled = group.set_index("ds").reindex(grid)
        filled.index.name = "ds"
        holes = filled["y"].isna().to_numpy()
        if p.gaps == "reject":
            raise InvalidInput(
                f"series {uid!r} has no value at {_show(filled.index[int(np.argmax(holes))])} "
                f"({int(holes.sum())} missing periods); set gaps to 'zero', 'interpolate' or 'forward' to fill them"
            )
        if p.gaps == "zero":
            filled["y"] = filled["y"].fillna(0.0)
        elif p.gaps == "interpolate":
            filled["y"] = filled["y"].interpolate()
        else:
            filled["y"] = filled["y"].ffill()
        filled["unique_id"] = uid
        for name in (*p.covariates, *p.static_columns):
            filled[name] = filled[name].ffill().bfill()
        pieces.append(filled.reset_index()[group.columns])
    return pd.concat(pieces, ignore_index=True)


def _already_regular(frame: pd.DataFrame, freq: str | int, integer_time: bool) -> bool:
    """The fast path: each row's successor in its series is exactly one period later, and no value is missing."""
    if frame["y"].isna().any():
        return False
    stamps = frame["ds"]
    following = stamps + int(freq) if integer_time else pd.Series(pd.DatetimeIndex(stamps) + to_offset(freq))
    same = frame["unique_id"].to_numpy()[1:] == frame["unique_id"].to_numpy()[:-1]
    return bool((following.to_numpy()[:-1][same] == stamps.to_numpy()[1:][same]).all())


def _check_static(frame: pd.DataFrame, p: ForecasterParams) -> None:
    for name in p.static_columns:
        varying = frame.groupby("unique_id")[name].nunique(dropna=False)
        if (varying > 1).any():
            raise InvalidInput(
                f"static column {name!r} changes within series {varying.idxmax()!r}; it must be constant"
            )


def _fill_covariates(frame: pd.DataFrame, p: ForecasterParams) -> pd.DataFrame:
    """Missing covariate values are carried forward (then backward) within a series; none at all is an error."""
    for name in p.covariates:
        if not frame[name].isna().any():
            continue
        filled = frame.groupby("unique_id", sort=False)[name].transform(lambda s: s.ffill().bfill())
        holes = filled.isna().to_numpy()
        if holes.any():
            uid = frame["unique_id"].iloc[int(np.argmax(holes))]
            raise InvalidInput(f"covariate {name!r} has no value at all for series {uid!r}")
        frame[name] = filled
    return frame


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _freq_name(freq: str | int) -> str:
    return f"step-{freq}" if isinstance(freq, int) else f"{freq!r}"


def _show(value) -> str:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return str(value)


def read_actuals(raw: pd.DataFrame, p: ForecasterParams, integer_time: bool) -> pd.DataFrame:
    """Observed values as ``unique_id``, ``ds``, ``y`` and ``shown`` (the timestamp as predictions show it)."""
    for name in (p.id_column, p.time_column, p.target):
        if name not in raw:
            raise InvalidInput(f"column {name!r} is not in the dataset; available: {list(raw.columns)}")
    raw = raw.reset_index(drop=True)
    frame = pd.DataFrame({"unique_id": _ids(raw[p.id_column], p.id_column)})
    frame["ds"], integer = _times(raw[p.time_column], frame["unique_id"], p.time_column)
    if integer != integer_time:
        kind = "integer periods" if integer_time else "dates or times"
        raise InvalidInput(f"time column {p.time_column!r} must hold {kind}, as the training data did")
    frame["y"] = _numbers(raw[p.target], frame, p.target)
    frame = frame.dropna(subset=["y"])
    if integer_time:
        frame["shown"] = frame["ds"].astype(int)
    else:
        stamps = pd.DatetimeIndex(frame["ds"])
        frame["shown"] = [s.date().isoformat() if s == s.normalize() else s.isoformat() for s in stamps]
    return frame.reset_index(drop=True)
