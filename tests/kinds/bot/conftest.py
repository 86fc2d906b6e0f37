"""One trained demo bot (the food-ordering definition shipped with the kind) per test session."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aiflywheel.kernel.kinds import TrainingData
from aiflywheel.kinds.bot import BotKind, BotPredictor
from aiflywheel.kinds.bot.example import demo_definition


class Quiet:
    def __call__(self, fraction: float, message: str = "") -> None:
        pass

    def log(self, message: str) -> None:
        pass


def utterance_data(folder: Path, rows: list[tuple[str, str]]) -> TrainingData:
    path = folder / "utterances.parquet"
    pq.write_table(pa.table({"text": [t for t, _ in rows], "intent": [i for _, i in rows]}), path)
    return TrainingData(path, ())


def train_bot(folder: Path, definition: dict, rows: list[tuple[str, str]] | None = None) -> BotPredictor:
    kind = BotKind()
    folder.mkdir(parents=True, exist_ok=True)
    data = utterance_data(folder, rows or [("hello", "greet")])
    model = folder / "model"
    model.mkdir()
    kind.train(data, kind.Params(definition=definition), Quiet(), model)
    return kind.load(model)


@pytest.fixture(scope="session")
def food_bot(tmp_path_factory) -> BotPredictor:
    return train_bot(tmp_path_factory.mktemp("food"), demo_definition())


@pytest.fixture
def talk(food_bot):
    """Send utterances in one session; returns the replies (the session is carried like the kernel does)."""

    def conversation(*texts: str) -> list[dict]:
        session, replies = None, []
        for text in texts:
            reply = food_bot.predict([{"text": text, "session": session, "session_id": "test"}])[0]
            session = reply.pop("session")
            replies.append(reply)
        return replies

    return conversation
