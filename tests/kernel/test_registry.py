import pytest

from aiflywheel.errors import Conflict, InvalidInput, NotFound
from aiflywheel.kernel.kinds import Metric
from aiflywheel.kernel.projects import ensure_project
from aiflywheel.kernel.registry import ModelRegistry, Stage


def register(registry, model="churn", kind="tabular", **extra):
    return registry.register(
        model=model,
        kind=kind,
        params={"target": "y"},
        metrics={"roc_auc": 0.8},
        primary_metric=Metric("roc_auc"),
        artifact="sha256:" + "a" * 64,
        **extra,
    )


def test_versions_are_numbered_per_model(platform):
    first, second = register(platform.models), register(platform.models)
    other = register(platform.models, model="price")
    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert first.stage == Stage.CANDIDATE and first.primary_metric == "roc_auc" and first.greater_is_better


def test_one_champion_at_a_time_and_history_is_kept(platform):
    registry = platform.models
    register(registry), register(registry)
    registry.promote("churn", 1)
    assert registry.champion("churn").version == 1
    registry.promote("churn", 2, Stage.CHAMPION)
    stages = {v.version: v.stage for v in registry.list("churn")}
    assert stages == {1: Stage.ARCHIVED, 2: Stage.CHAMPION}
    assert registry.get("churn").version == 2, "without a version, get returns the champion"
    registry.promote("churn", 1, "challenger")
    assert registry.get("churn", 1).stage == Stage.CHALLENGER
    assert registry.archive("churn", 1).stage == Stage.ARCHIVED


def test_lineage_names_the_dataset_version(platform, tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("x,y\n1,a\n2,b\n")
    dataset = platform.datasets.create("tiny", csv)
    version = register(platform.models, dataset_version_id=dataset.id)
    assert version.dataset == "tiny:1"


def test_errors(platform):
    register(platform.models)
    with pytest.raises(Conflict, match="is a 'tabular' model"):
        register(platform.models, kind="forecaster")
    with pytest.raises(NotFound):
        platform.models.get("nope")
    with pytest.raises(NotFound):
        platform.models.get("churn", 9)
    with pytest.raises(InvalidInput, match="stage 'king'"):
        platform.models.promote("churn", 1, "king")
    with pytest.raises(InvalidInput, match="model name"):
        register(platform.models, model="../etc")


def test_models_of_another_project_are_invisible(platform):
    register(platform.models)
    other = ModelRegistry(platform.engine, ensure_project(platform.engine, "other"))
    assert other.list() == []
    with pytest.raises(NotFound):
        other.promote("churn", 1)
