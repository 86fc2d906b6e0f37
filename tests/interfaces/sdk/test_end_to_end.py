"""The whole loop against a real ``flywheel up``: the SDK and the CLI on the vehicle-insurance claims data."""

import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from aiflywheel import Client, Forbidden, JobState, NotFound
from aiflywheel.testing import free_port, run_cli, wait_for

TARGET = "FraudFound_P"


def clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("FLYWHEEL_")}


class Server:
    """``flywheel up`` in its own process group, its output collected by a thread."""

    def __init__(self, home, store_url):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "aiflywheel", "--home", str(home), "--store", store_url]
            + ["up", "--port", str(self.port), "--workers", "1", "--no-demo"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            env=clean_environment(),
        )
        self.reader = threading.Thread(target=lambda: self.lines.extend(self.process.stdout), daemon=True)
        self.reader.start()

    def admin_key(self) -> str:
        def printed() -> bool:
            return any(line.startswith("Admin API key") for line in self.lines[:-1]) or self.process.poll() is not None

        assert wait_for(printed, seconds=60), self.output()
        found = [i for i, line in enumerate(self.lines) if line.startswith("Admin API key")]
        assert found, self.output()
        return self.lines[found[0] + 1].strip()

    def output(self) -> str:
        return "".join(self.lines)

    def stop(self) -> str:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        self.process.wait(timeout=60)
        self.reader.join(timeout=10)
        self.process.stdout.close()
        return self.output()


def flywheel(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "aiflywheel", *args], capture_output=True, text=True, env=clean_environment(), timeout=60
    )


def reachable(client: Client) -> bool:
    try:
        return client.health()["status"] == "ok"
    except Exception:  # noqa: BLE001 - not listening yet
        return False


@pytest.mark.slow
def test_the_loop_through_the_sdk_and_the_cli(tmp_path, store_url, shared_data, capsys):
    home = tmp_path / "home"
    server = Server(home, store_url)
    try:
        key = server.admin_key()
        with Client(server.url, key) as client:
            assert wait_for(lambda: reachable(client), seconds=60), server.output()

            uploaded = client.datasets.create("claims", shared_data / "fraud" / "vehicle_claims_dev.csv")
            assert uploaded.row_count == 12336
            job = client.train("tabular", "claims", {"target": TARGET}, wait=True, timeout=300)
            assert job.state == JobState.SUCCEEDED, job.error
            version = client.models.get("claims", job.result["version"])
            assert version.metrics["roc_auc"] > version.metrics["baseline_roc_auc"] + 0.2

            assert client.deploy("claims").name == "claims"
            examples = uploaded.preview[:5]
            instances = [{k: v for k, v in row.items() if k != TARGET} for row in examples]
            answer = client.predict("claims", instances)
            assert answer.model_version == "claims:1" and len(set(answer.prediction_ids)) == 5
            assert all(p["label"] in (0, 1) and 0.0 <= p["score"] <= 1.0 for p in answer.predictions)
            record = client.feedback(answer.prediction_ids[0], "claim-0", label=examples[0][TARGET])
            assert (record.label, record.duplicate) == (examples[0][TARGET], False)
            assert client.feedback(answer.prediction_ids[0], "claim-0", label=examples[0][TARGET]).duplicate

            reader_key, _ = client.keys.create("reader", name="e2e")
            with Client(server.url, reader_key) as reader:
                assert len(reader.predict("claims", instances[:2]).predictions) == 2
                with pytest.raises(Forbidden):
                    reader.deploy("claims", "mine")
                with pytest.raises(Forbidden):
                    reader.feedback(answer.prediction_ids[1], "claim-1", label=0)

            local = ("--home", str(home), "--store", store_url)
            created = flywheel(*local, "keys", "create", "--role", "admin", "--project", "other", "--json")
            assert created.returncode == 0, created.stderr
            other_key = json.loads(created.stdout)["key"]
            with Client(server.url, other_key) as other:
                with pytest.raises(NotFound):
                    other.endpoints.get("claims")
                with pytest.raises(NotFound):
                    other.predict("claims", instances[:1])
                with pytest.raises(NotFound):
                    other.feedback(answer.prediction_ids[2], "claim-2", label=0)

            jsonl = tmp_path / "claims.jsonl"
            jsonl.write_text("".join(json.dumps(row) + "\n" for row in instances[:3]))
            remote = ("--url", server.url, "--api-key", key)
            predicted = flywheel(*remote, "predict", "claims", "--input", str(jsonl), "--json")
            assert predicted.returncode == 0, predicted.stderr
            cli_answer = json.loads(predicted.stdout)
            assert cli_answer["predictions"] == answer.predictions[:3]
            given = flywheel(
                *remote, "feedback", cli_answer["prediction_ids"][0], "--event-id", "cli-0", "--label", "1", "--json"
            )
            assert given.returncode == 0, given.stderr
            assert json.loads(given.stdout)["label"] == 1, "--label 1 is the number 1"

            # The same commands in this process (a subprocess each costs a second of imports).
            code, out, err = run_cli(capsys, *remote, "predict", "claims", "--input", json.dumps(instances[3]))
            assert code == 0 and "1 prediction(s) by claims:1" in out and "pr_" in out, err
            code, out, err = run_cli(capsys, *remote, "feedback", "pr_nope", "--event-id", "x", "--label", "benign")
            assert code == 1 and err.startswith("error: no prediction 'pr_nope'")
    finally:
        output = server.stop()
    assert "Flywheel stopped." in output, output
