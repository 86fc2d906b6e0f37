"""Benchmark the tabular kind against scikit-learn peers on the fraud sets, on the same split.

Run: ``.venv/bin/python bench/tabular.py``

For each dataset the kind trains with default params (it holds out a stratified 20% test
split itself; the split is reproduced here with the same function and seed, and the
kind's reported ROC-AUC is checked against its predictions on exactly those rows). The
peers, with their defaults, learn from all the non-test rows and the columns the kind
kept (it drops row identifiers such as ``PolicyNumber``), and are scored on the same
test rows:

- ``HistGradientBoostingClassifier(categorical_features="from_dtype")``, text columns
  as pandas categories (levels from the training rows); also once on every column, to
  show what the dropped identifier is worth on this data;
- ``LogisticRegression`` on one-hot text columns and standardised, mean-imputed numbers.

Training seconds are the median of three fits.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from aiflywheel.kernel.kinds import Column, TrainingData, parse_params
from aiflywheel.kinds.components.splits import split_rows
from aiflywheel.kinds.tabular import TabularKind

FRAUD = Path(__file__).resolve().parents[2] / "shared" / "data" / "fraud"
DATASETS = [
    ("vehicle claims", FRAUD / "vehicle_claims_dev.csv", "FraudFound_P"),
    ("credit card (ULB sample)", FRAUD / "creditcard_ulb_sample_dev.csv", "Class"),
]
REPEATS = 3


class QuietProgress:
    def __call__(self, fraction: float, message: str = "") -> None:
        pass

    def log(self, message: str) -> None:
        pass


def timed(fit, repeats: int = REPEATS):
    """(median seconds, result of the last call)."""
    seconds, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fit()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def training_data(table: pa.Table, folder: Path) -> TrainingData:
    path = folder / "data.parquet"
    pq.write_table(table, path)
    columns = []
    for field in table.schema:
        numeric = pa.types.is_integer(field.type) or pa.types.is_floating(field.type)
        columns.append(Column(field.name, str(field.type), "numeric" if numeric else "categorical"))
    return TrainingData(path, tuple(columns))


def bench_kind(table: pa.Table, target: str, test_rows: np.ndarray, folder: Path):
    """(ROC-AUC, PR-AUC, seconds, columns the kind dropped)."""
    kind = TabularKind()
    data = training_data(table, folder)
    params = parse_params(kind, {"target": target})
    seconds, result = timed(lambda: kind.train(data, params, QuietProgress(), folder / "model"))
    test = table.take(pa.array(test_rows))
    outputs = kind.load(folder / "model").predict(test.drop_columns([target]).to_pylist())
    y = np.asarray(test.column(target).to_pylist())
    score = np.array([out["score"] for out in outputs])
    roc = roc_auc_score(y, score)
    if abs(roc - result.metrics["roc_auc"]) > 1e-9:
        sys.exit(f"the kind's test split differs from the benchmark's: {roc} != {result.metrics['roc_auc']}")
    dropped = list(result.summary["dropped_columns"])
    return roc, average_precision_score(y, score), seconds, dropped


def peers(frame: pd.DataFrame, target: str, fit_rows: np.ndarray, test_rows: np.ndarray, dropped: list[str]):
    """The peers on the columns the kind used; HistGradientBoosting also on every column."""
    every = frame.drop(columns=[target])
    x, y = every.drop(columns=dropped), frame[target].to_numpy()
    text = [name for name in x.columns if not pd.api.types.is_numeric_dtype(x[name])]
    numbers = [name for name in x.columns if name not in text]

    def as_categories(features: pd.DataFrame) -> pd.DataFrame:
        features = features.copy()
        for name in text:
            levels = sorted(features[name].iloc[fit_rows].dropna().unique())
            features[name] = pd.Categorical(features[name], categories=levels)
        return features

    def hgb():
        return HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)

    logistic = make_pipeline(
        ColumnTransformer(
            [
                ("text", OneHotEncoder(handle_unknown="ignore"), text),
                ("numbers", make_pipeline(SimpleImputer(), StandardScaler()), numbers),
            ]
        ),
        LogisticRegression(max_iter=2000),
    )
    candidates = [
        ("sklearn HistGradientBoosting", hgb(), as_categories(x)),
        ("sklearn LogisticRegression (one-hot)", logistic, x),
    ]
    if dropped:
        label = f"sklearn HistGradientBoosting, all columns (incl. {', '.join(dropped)})"
        candidates.append((label, hgb(), as_categories(every)))
    for name, model, features in candidates:
        seconds, fitted = timed(lambda m=model, f=features: m.fit(f.iloc[fit_rows], y[fit_rows]))
        score = fitted.predict_proba(features.iloc[test_rows])[:, 1]
        yield name, roc_auc_score(y[test_rows], score), average_precision_score(y[test_rows], score), seconds


def main() -> None:
    lines = ["| dataset | model | ROC-AUC | PR-AUC | train s (median of 3) |", "|---|---|---|---|---|"]
    for label, csv, target in DATASETS:
        table = pcsv.read_csv(csv)
        frame = table.to_pandas()
        y = frame[target].to_numpy()
        split = split_rows(len(frame), 0.2, seed=0, strata=y)  # the kind's own split for default params
        *ours, dropped = bench_kind(table, target, split.test, Path(tempfile.mkdtemp()))
        rows = [("aiflywheel tabular (LightGBM)", *ours)]
        rows.extend(peers(frame, target, split.fit, split.test, dropped))
        for model, roc, pr, seconds in rows:
            lines.append(f"| {label} (n_test={len(split.test)}) | {model} | {roc:.4f} | {pr:.4f} | {seconds:.2f} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
