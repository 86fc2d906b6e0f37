"""``flywheel forecast`` against a forecaster trained, deployed and served by Flywheel in this process."""

from __future__ import annotations

import json
import threading
from types import SimpleNamespace

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from aiflywheel import Client
from aiflywheel.backends.executor import open_executor
from aiflywheel.interfaces.cli import forecast as forecast_command
from aiflywheel.interfaces.rest import create_app
from aiflywheel.kernel.jobs import JobState
from aiflywheel.kernel.keys import Keys, Role
from aiflywheel.kernel.kinds import KindRegistry
from aiflywheel.kernel.platform import Platform
from aiflywheel.kernel.serving import Serving
from aiflywheel.kernel.worker import WorkerPool
from aiflywheel.settings import Settings
from aiflywheel.testing import run_cli

SERIES = ["N1404", "N1405", "N1406", "N1407", "N1408", "N1409"]


@pytest.fixture(scope="module")
def served(tmp_path_factory, module_store_url, shared_data):
    """Six real M3 monthly series, a forecaster trained on them by a job, deployed at endpoint ``m3``."""
    home = tmp_path_factory.mktemp("forecast") / "home"
    settings = Settings.build(home=home, store=module_store_url, executor="thread", workers=1, environ={})
    platform = Platform(settings, KindRegistry.from_entry_points())
    serving = Serving(
        platform.engine, platform.artifacts, platform.kinds, home / "cache" / "models", platform.prediction_log.start()
    )
    http = TestClient(create_app(platform, serving), raise_server_exceptions=False)
    stop = threading.Event()
    pool = threading.Thread(
        target=WorkerPool(platform, open_executor("thread", 1), poll_seconds=0.02).run, args=(stop,)
    )
    pool.start()
    values = pd.read_csv(shared_data / "forecasting" / "m3_dev_values.csv")
    values = values[values["unique_id"].isin(SERIES)]
    csv = home.parent / "m3.csv"
    train = values[values["split"] == "train"]
    train.rename(columns={"unique_id": "series_id", "t": "timestamp", "y": "value"})[
        ["series_id", "timestamp", "value"]
    ].to_csv(csv, index=False)
    sdk = Client("http://flywheel.test", Keys(platform.engine).create(Role.ADMIN, "default")[0], http=http)
    sdk.datasets.create("m3", csv)
    params = {"season_length": 12, "horizon": 6, "models": ["auto_ets", "auto_theta", "lightgbm"], "n_jobs": 1}
    job = sdk.train("forecaster", "m3", params, wait=True, timeout=120)
    assert job.state == JobState.SUCCEEDED, job.error
    sdk.deploy("m3")
    yield SimpleNamespace(client=sdk, test=values[values["split"] == "test"])
    stop.set()
    pool.join()
    sdk.close()
    http.close()
    serving.close()
    platform.close()


@pytest.fixture
def cli(served, monkeypatch, capsys):
    monkeypatch.setattr(forecast_command, "client", lambda ctx: served.client)
    return lambda *args: run_cli(capsys, *args)


def test_prints_a_table_of_quantiles_and_saves_a_chart(cli, tmp_path):
    chart = tmp_path / "charts" / "n1404.png"
    code, out, err = cli("forecast", "m3", "--series", "N1404", "--horizon", "6", "--chart", str(chart))
    assert code == 0, err
    assert "p10" in out and "p50" in out and "p90" in out and "prediction id pr_" in out
    stamps = [line.split()[0] for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert stamps == [str(t) for t in range(51, 57)]  # N1404 has 50 training months
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 10_000


def test_json_output_follows_the_contract(cli, served):
    code, out, err = cli("forecast", "m3", "--series", "N1405", "--quantiles", "0.05,0.5,0.95", "--json")
    assert code == 0, err
    answer = json.loads(out)
    prediction = answer["predictions"][0]
    assert set(prediction) >= {"timestamps", "p5", "p50", "p95", "model"}
    actual = served.test.loc[served.test["unique_id"] == "N1405", "t"].head(6).tolist()
    assert prediction["timestamps"] == actual  # the periods right after the training data
    assert all(
        lo <= mid <= hi for lo, mid, hi in zip(prediction["p5"], prediction["p50"], prediction["p95"], strict=True)
    )


def test_actuals_sent_as_feedback_are_recorded(served):
    answer = served.client.predict("m3", [{"series_id": "N1406", "horizon": 3}])
    actual = served.test.loc[served.test["unique_id"] == "N1406", "y"].head(3).tolist()
    record = served.client.feedback(answer.prediction_ids[0], "n1406-actuals", outcome=actual)
    assert record.prediction_id == answer.prediction_ids[0] and not record.duplicate


def test_errors_name_the_series_or_the_option(cli):
    code, _, err = cli("forecast", "m3", "--series", "N9999")
    assert code != 0 and "'N9999' was not in the training data" in err
    code, _, err = cli("forecast", "m3", "--series", "N1404", "--horizon", "7")
    assert code != 0 and "between 1 and 6" in err
    code, _, err = cli("forecast", "m3", "--series", "N1404", "--quantiles", "low,high")
    assert code != 0 and "--quantiles 'low,high' must be comma-separated numbers" in err
