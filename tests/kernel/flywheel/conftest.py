"""A breast-cancer endpoint served for real, labelled through feedback, turned by the loop by hand."""

from __future__ import annotations

import pytest
from sklearn.datasets import load_breast_cancer

from aiflywheel.kernel.flywheel import FlywheelLoop
from aiflywheel.kernel.jobs import JobState
from aiflywheel.kernel.predictions import FeedbackRequest
from aiflywheel.kernel.serving import Serving
from aiflywheel.kernel.worker import execute

TARGET = "diagnosis"
PARAMS = {"target": TARGET}


@pytest.fixture(scope="session")
def cancer():
    """The 569 rows, shuffled once, diagnosis as text."""
    frame = load_breast_cancer(as_frame=True).frame
    frame[TARGET] = frame.pop("target").map({0: "malignant", 1: "benign"})
    return frame.sample(frac=1.0, random_state=7).reset_index(drop=True)


@pytest.fixture
def serving(platform, tmp_path):
    runtime = Serving(
        platform.engine,
        platform.artifacts,
        platform.kinds,
        tmp_path / "models",
        platform.prediction_log.start(),
        route_seconds=0.0,
    )
    yield runtime
    runtime.close()


class Scenario:
    """An endpoint ``cancer`` whose champion learned from few rows; later rows arrive as traffic."""

    def __init__(self, platform, serving, cancer, tmp_path):
        self.platform, self.serving, self.frame, self.tmp_path = platform, serving, cancer, tmp_path
        self.loop = FlywheelLoop(platform)
        self.sent = 0
        self.events = 0

    def dataset(self, name: str, rows) -> str:
        path = self.tmp_path / f"{name}.csv"
        rows.to_csv(path, index=False)
        return self.platform.datasets.create(name, path).ref

    def deploy(self, base_rows: int = 40) -> None:
        self.dataset("cancer-base", self.frame.iloc[:base_rows])
        self.dataset("cancer-holdout", self.frame.iloc[-150:])
        job = self.platform.train("tabular", "cancer-base", PARAMS, model="cancer")
        self.run(job.id)
        self.platform.endpoints.deploy("cancer")

    def run(self, job_id: int | None = None) -> list[JobState]:
        """Run queued jobs (one, or all) here and now, as a worker would."""
        states = []
        while (job := self.platform.all_jobs().claim("test:1", job_id=job_id)) is not None:
            states.append(execute(self.platform, job))
            if job_id is not None:
                break
        return states

    def traffic(self, start: int, count: int, labels=None, batch: int = 20) -> list[str]:
        """Predict rows ``start..start+count`` through the endpoint; send their (or given) labels as feedback."""
        rows = self.frame.iloc[start : start + count]
        truth = list(rows[TARGET]) if labels is None else labels
        ids = []
        instances = rows.drop(columns=[TARGET]).to_dict("records")
        for offset in range(0, len(instances), batch):
            answer = self.serving.invoke(self.platform.project_id, "cancer", instances[offset : offset + batch])
            ids.extend(answer.result(timeout=30).prediction_ids)
        for prediction_id, label in zip(ids, truth, strict=True):
            self.sent += 1
            self.platform.feedback.send(
                FeedbackRequest(prediction_id=prediction_id, event_id=f"e{self.sent}", label=label)
            )
        return ids

    def turn(self) -> list[str]:
        """One tick of the loop, then whatever jobs it started."""
        messages = self.loop.tick()
        self.run()
        return messages

    def history(self):
        return self.platform.flywheel.history("cancer")

    def decisions(self):
        return [event for event in self.history() if event.type not in ("policy_set", "triggered")]


@pytest.fixture
def scenario(platform, serving, cancer, tmp_path) -> Scenario:
    return Scenario(platform, serving, cancer, tmp_path)
