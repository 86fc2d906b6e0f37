"""A served translator: detect the source, split into sentences, reuse memory, force terms, translate, reassemble."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from aiflywheel.errors import InvalidInput
from aiflywheel.kinds.components.language_id import identify
from aiflywheel.kinds.translator import segments, terminology
from aiflywheel.kinds.translator.engines import Engines, installed_engines, user_engine
from aiflywheel.kinds.translator.memory import TranslationMemory
from aiflywheel.kinds.translator.params import TranslatorParams
from aiflywheel.kinds.translator.requests import parse
from aiflywheel.kinds.translator.user_models import installed

MANIFEST = "translator.json"


class TranslatorPredictor:
    def __init__(self, params: TranslatorParams, memory: TranslationMemory, engines: Engines | None = None):
        self.params = params
        self.memory = memory
        self.engines = engines or installed_engines()

    def pairs(self) -> list[dict[str, str]]:
        return self.engines.listing()

    def predict(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        requests = parse(batch, self.params.max_chars, self.params.default_target)
        plans = []
        for position, request in enumerate(requests):
            source = request.source or self._detect(position, request.text, request.target)
            where = f"request {position}: 'target'" if request.source is None else f"request {position}: 'source'"
            engine = None if source == request.target else self.engines.engine(source, request.target, where)
            plans.append((request, source, engine))
        # Every sentence that needs a model, grouped per engine and pair so each model runs once.
        queue: dict[tuple[str, str], list[tuple[int, int, terminology.Protected]]] = defaultdict(list)
        results = []
        for number, (request, source, engine) in enumerate(plans):
            pieces = segments.split(request.text)
            answer = {"text": request.text, "source": source, "target": request.target, "engine": "none"}
            done: dict[int, str] = {}
            if engine is not None:
                answer["engine"] = engine.name
                terms = terminology.applicable(self.params.terminology, source, request.target)
                remembered = []
                for index, piece in enumerate(pieces):
                    if not piece.translate:
                        continue
                    match = self.memory.lookup(piece.text, source, request.target, self.params.memory_min_similarity)
                    if match is not None:
                        done[index] = match.target
                        remembered.append(
                            {"sentence": piece.text, "match": match.source, "similarity": match.similarity}
                        )
                    else:
                        protected = terminology.protect(piece.text, terms)
                        queue[(source, request.target)].append((number, index, protected))
                if remembered:
                    answer["memory"] = remembered
            results.append((pieces, done, answer))
        for (source, target), items in queue.items():
            engine = self.engines.engine(source, target, "target")
            translated = engine.translate([protected.text for _, _, protected in items], source, target)
            for (number, index, protected), text in zip(items, translated, strict=True):
                pieces, done, answer = results[number]
                text, report = terminology.restore(text, protected)
                done[index] = segments.match_edges(pieces[index].text, text)
                if report:
                    answer.setdefault("terms", []).extend(report)
        out = []
        for pieces, done, answer in results:
            answer["text"] = segments.join(pieces, done)
            if answer["engine"] != "none" and "memory" in answer and len(answer["memory"]) == len(done):
                answer["engine"] = "memory"
            out.append(answer)
        return out

    def _detect(self, position: int, text: str, target: str) -> str:
        candidates = self.engines.sources_for(target)
        if not candidates:
            raise InvalidInput(
                f"request {position}: 'target' {target!r} is not a language any installed engine translates into; "
                f"installed: {', '.join(sorted({p['target'] for p in self.pairs()}))}"
            )
        # The target itself is a candidate: text already in the target language comes back unchanged.
        return identify(text, among=[*candidates, target]).language

    # -- storage -----------------------------------------------------------------------------------------

    @classmethod
    def load(cls, folder: Path) -> TranslatorPredictor:
        manifest = json.loads((folder / MANIFEST).read_text())
        own = [user_engine(path, model) for path, model in installed(folder).values()]
        engines = installed_engines().before(own)
        return cls(TranslatorParams.model_validate(manifest["params"]), TranslationMemory.load(folder), engines)


def save_model(folder: Path, params: TranslatorParams, memory: TranslationMemory) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).write_text(json.dumps({"params": params.model_dump(mode="json")}, indent=2))
    memory.save(folder)
