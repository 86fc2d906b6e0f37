"""Demo data, ready on first start so a newcomer can train something at once.

The breast-cancer table ships inside scikit-learn's wheel (BSD-3-Clause; UCI, Wolberg
et al. 1995), so no download is needed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from aiflywheel.errors import NotFound
from aiflywheel.kernel.datasets import DatasetVersion

DEMO_DATASET = "demo-breast-cancer"


def seed_demo(platform) -> list[DatasetVersion]:
    """Create the demo dataset if the project has none of that name; return what was created."""
    try:
        platform.datasets.get(DEMO_DATASET)
        return []
    except NotFound:
        pass
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame["diagnosis"] = frame.pop("target").map({0: "malignant", 1: "benign"})
    platform.settings.home.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=platform.settings.home) as folder:
        path = Path(folder) / "breast_cancer.csv"
        frame.to_csv(path, index=False)
        return [platform.datasets.create(DEMO_DATASET, path, source_name="scikit-learn load_breast_cancer")]


def seed_demo_in_process(settings) -> list[str]:
    """Executor entry point: seed in a separate process, so the server never imports pandas or scikit-learn."""
    from aiflywheel.kernel.platform import Platform

    platform = Platform(settings)
    try:
        return [created.ref for created in seed_demo(platform)]
    finally:
        platform.close()
