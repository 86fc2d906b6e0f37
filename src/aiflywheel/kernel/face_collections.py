"""Face collections: a project's named sets of indexed faces, searched by nearest embedding.

The kernel stores what the ``faces`` service returned when a face was indexed (its
embedding and box) under the caller's external id, and answers nearest-neighbour
searches by Euclidean distance; it never runs a model. The interface that indexes and
searches gets embeddings through the ``faces`` endpoint, the standard serving path, so a
collection follows the faces model its project serves. Embeddings of one collection must
come from one model: mixing dimensions is refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel
from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from aiflywheel.backends.store.schema import collection_faces, face_collections
from aiflywheel.errors import Conflict, InvalidInput, NotFound
from aiflywheel.kernel.clock import UtcDatetime, now
from aiflywheel.kernel.names import check_name

MAX_EXTERNAL_ID = 200


class FaceCollection(BaseModel):
    name: str
    faces: int
    created_at: UtcDatetime


class IndexedFace(BaseModel):
    face_id: int
    external_id: str
    details: dict[str, Any]
    created_at: UtcDatetime


class FaceMatch(BaseModel):
    face_id: int
    external_id: str
    distance: float
    details: dict[str, Any]


class FaceCollections:
    def __init__(self, engine: Engine, project_id: int):
        self.engine = engine
        self.project_id = project_id

    def create(self, name: str) -> FaceCollection:
        check_name(name, "collection")
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(face_collections).values(project_id=self.project_id, name=name, created_at=now())
                )
        except IntegrityError as exc:
            raise Conflict(f"face collection {name!r} already exists") from exc
        return self.get(name)

    def list(self) -> list[FaceCollection]:
        counts = (
            select(face_collections.c.name, face_collections.c.created_at, func.count(collection_faces.c.id))
            .select_from(face_collections.outerjoin(collection_faces))
            .where(face_collections.c.project_id == self.project_id)
            .group_by(face_collections.c.id, face_collections.c.name, face_collections.c.created_at)
            .order_by(face_collections.c.name)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(counts).all()
        return [FaceCollection(name=name, faces=count, created_at=created) for name, created, count in rows]

    def get(self, name: str) -> FaceCollection:
        for collection in self.list():
            if collection.name == name:
                return collection
        raise NotFound(f"no face collection named {name!r}")

    def delete(self, name: str) -> None:
        """Delete the collection and every face indexed in it."""
        with self.engine.begin() as connection:
            collection_id = self._id(connection, name)
            connection.execute(delete(collection_faces).where(collection_faces.c.collection_id == collection_id))
            connection.execute(delete(face_collections).where(face_collections.c.id == collection_id))

    def add(self, name: str, external_id: str, faces: list[tuple[np.ndarray, dict[str, Any]]]) -> list[IndexedFace]:
        """Index ``faces`` (embedding, details) under ``external_id``; all or none are stored."""
        if not isinstance(external_id, str) or not external_id.strip() or len(external_id) > MAX_EXTERNAL_ID:
            raise InvalidInput(f"external_id must be a non-empty string of at most {MAX_EXTERNAL_ID} characters")
        created = now()
        ids = []
        with self.engine.begin() as connection:
            collection_id = self._id(connection, name)
            dimension = self._dimension(connection, collection_id)
            for embedding, details in faces:
                vector = np.asarray(embedding, dtype="<f4").ravel()
                if dimension is not None and vector.size != dimension:
                    raise InvalidInput(
                        f"collection {name!r} holds {dimension}-float embeddings, not {vector.size}: "
                        "its faces come from another faces model"
                    )
                dimension = vector.size
                result = connection.execute(
                    insert(collection_faces).values(
                        collection_id=collection_id,
                        external_id=external_id,
                        embedding=vector.tobytes(),
                        details=details,
                        created_at=created,
                    )
                )
                ids.append(result.inserted_primary_key[0])
        return [
            IndexedFace(face_id=i, external_id=external_id, details=d, created_at=created)
            for i, (_, d) in zip(ids, faces, strict=True)
        ]

    def faces(self, name: str) -> list[IndexedFace]:
        rows = self._rows(
            name, collection_faces.c.external_id, collection_faces.c.details, collection_faces.c.created_at
        )
        return [IndexedFace(face_id=r[0], external_id=r[1], details=r[2], created_at=r[3]) for r in rows]

    def remove(self, name: str, face_id: int) -> None:
        with self.engine.begin() as connection:
            collection_id = self._id(connection, name)
            gone = connection.execute(
                delete(collection_faces).where(
                    collection_faces.c.collection_id == collection_id, collection_faces.c.id == face_id
                )
            ).rowcount
        if not gone:
            raise NotFound(f"no face {face_id} in collection {name!r}")

    def search(self, name: str, embedding: np.ndarray, limit: int = 10) -> list[FaceMatch]:
        """The ``limit`` indexed faces nearest to ``embedding``, nearest first."""
        rows = self._rows(
            name, collection_faces.c.external_id, collection_faces.c.embedding, collection_faces.c.details
        )
        if not rows:
            return []
        query = np.asarray(embedding, dtype=np.float32).ravel()
        stored = [np.frombuffer(row[2], dtype="<f4") for row in rows]
        if any(vector.size != query.size for vector in stored):
            raise InvalidInput(f"collection {name!r} holds embeddings of another size than the faces model's")
        distances = np.linalg.norm(np.stack(stored) - query, axis=1)
        order = np.argsort(distances, kind="stable")[:limit]
        return [
            FaceMatch(face_id=rows[i][0], external_id=rows[i][1], distance=float(distances[i]), details=rows[i][3])
            for i in order
        ]

    def _rows(self, name: str, *columns) -> list:
        """The collection's faces, oldest first: their id, then ``columns``."""
        with self.engine.connect() as connection:
            collection_id = self._id(connection, name)
            query = select(collection_faces.c.id, *columns).where(collection_faces.c.collection_id == collection_id)
            return connection.execute(query.order_by(collection_faces.c.id)).all()

    def _id(self, connection, name: str) -> int:
        found = connection.execute(
            select(face_collections.c.id).where(
                face_collections.c.project_id == self.project_id, face_collections.c.name == name
            )
        ).scalar()
        if found is None:
            raise NotFound(f"no face collection named {name!r}")
        return found

    @staticmethod
    def _dimension(connection, collection_id: int) -> int | None:
        first = connection.execute(
            select(collection_faces.c.embedding).where(collection_faces.c.collection_id == collection_id).limit(1)
        ).scalar()
        return None if first is None else len(first) // 4
