"""A tiny shop for the conformance suite: products with text and attributes, judged queries, clicks."""

from __future__ import annotations

import pyarrow as pa

from aiflywheel.kernel.kinds import FeedbackRecord, KindExample

PRODUCTS = [
    ("p01", "acoustic guitar", "a spruce top six string acoustic guitar for beginners", "music", 129.0, True, 40),
    ("p02", "electric guitar", "solid body electric guitar with two humbucker pickups", "music", 349.0, True, 55),
    ("p03", "guitar strings", "a set of bronze strings for acoustic guitars", "music", 9.5, True, 90),
    ("p04", "guitar amplifier", "a 20 watt practice amplifier for electric guitars", "music", 119.0, False, 25),
    ("p05", "digital piano", "an 88 key weighted digital piano with speakers", "music", 499.0, True, 30),
    ("p06", "drum sticks", "a pair of hickory drum sticks", "music", 11.0, True, 60),
    ("p07", "chef knife", "an eight inch stainless steel chef knife for the kitchen", "kitchen", 45.0, True, 70),
    ("p08", "frying pan", "a nonstick frying pan for eggs and pancakes", "kitchen", 29.0, True, 80),
    (
        "p09",
        "espresso machine",
        "a pump espresso machine that brews coffee with milk frother",
        "kitchen",
        229.0,
        True,
        45,
    ),
    ("p10", "coffee grinder", "a burr grinder for coffee beans before brewing espresso", "kitchen", 59.0, False, 35),
    ("p11", "cutting board", "a bamboo cutting board for knives and vegetables", "kitchen", 19.0, True, 50),
    ("p12", "kitchen scale", "a digital scale for weighing flour when baking", "kitchen", 15.0, True, 20),
    ("p13", "garden hose", "a fifty foot garden hose with spray nozzle for watering plants", "garden", 35.0, True, 40),
    ("p14", "pruning shears", "sharp bypass shears for pruning roses and shrubs", "garden", 22.0, True, 30),
    ("p15", "flower seeds", "a mix of wildflower seeds to sow in spring", "garden", 4.0, True, 65),
    ("p16", "lawn mower", "a cordless electric lawn mower for grass", "garden", 299.0, True, 15),
    ("p17", "watering can", "a two gallon watering can for plants and flowers", "garden", 18.0, True, 25),
    ("p18", "garden gloves", "thorn proof gloves for gardening and pruning", "garden", 12.0, False, 35),
]
JUDGED = {
    "guitar for a beginner": {"p01": 3, "p03": 1, "p02": 1},
    "electric guitar amp": {"p04": 3, "p02": 2},
    "make coffee at home": {"p09": 3, "p10": 2},
    "knife for cooking": {"p07": 3, "p11": 1},
    "water the plants": {"p17": 3, "p13": 3},
    "prune roses": {"p14": 3, "p18": 2},
    "piano keyboard": {"p05": 3},
    "baking tools": {"p12": 3},
    "grass cutting": {"p16": 3},
    "seeds for flowers": {"p15": 3, "p17": 1},
}


def make_example() -> KindExample:
    """18 products (documents) and 10 judged queries in one table, and two clicks as feedback."""
    rows: dict[str, list] = {
        k: []
        for k in (
            "doc_id",
            "title",
            "body",
            "category",
            "price",
            "available",
            "popularity",
            "query_id",
            "query",
            "relevance",
        )
    }
    for doc, title, body, category, price, available, popularity in PRODUCTS:
        for key, value in zip(
            ("doc_id", "title", "body", "category", "price", "available", "popularity"),
            (doc, title, body, category, price, available, popularity),
            strict=True,
        ):
            rows[key].append(value)
        rows["query_id"].append(None), rows["query"].append(None), rows["relevance"].append(None)
    for number, (query, gains) in enumerate(JUDGED.items(), start=1):
        for doc, gain in gains.items():
            for key in ("title", "body", "category", "price", "available", "popularity"):
                rows[key].append(None)
            rows["doc_id"].append(doc), rows["query_id"].append(f"q{number}")
            rows["query"].append(query), rows["relevance"].append(float(gain))
    types = {"price": pa.float64(), "available": pa.bool_(), "popularity": pa.int64(), "relevance": pa.float64()}
    train = pa.table({name: pa.array(values, types.get(name, pa.string())) for name, values in rows.items()})
    batch = [
        {"query": "acoustic guitar", "k": 3},
        {"query": "coffee", "filters": {"category": "kitchen", "price": {"lt": 100}}, "facets": ["category"]},
        {"query": "gitar strngs"},
        {"query": ""},
        {"query": "qwzx vbnmp"},
        {"query": "garden", "filters": {"available": True}, "k": 2},
    ]
    feedback = [
        FeedbackRecord(
            input={"query": "something to brew coffee"},
            output={"results": [{"doc_id": "p10", "score": 0.9}, {"doc_id": "p09", "score": 0.8}]},
            feedback={"label": "p09", "event_id": "e1"},
        ),
        FeedbackRecord(
            input={"query": "gloves"},
            output={"results": [{"doc_id": "p18", "score": 0.7}]},
            feedback={"outcome": {"doc_id": "p18", "event_type": "purchase"}, "event_id": "e2"},
        ),
    ]
    return KindExample(
        train=train,
        params={"candidates": 10, "min_data_in_leaf": 2, "num_trees": 30, "min_judged_queries": 4},
        batch=batch,
        bad_batch=[{"query": "guitar", "k": 0}],
        bad_params={"candidates": 0},
        feedback=feedback,
    )
