"""Tests for aiflywheel.kernel.ingest: real data, type widening, bad input, bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.ingest import FORMATS, IngestResult, ingest

FRAUD_CSV = Path(__file__).resolve().parents[3] / "shared" / "data" / "fraud" / "vehicle_claims_dev.csv"


@pytest.fixture(scope="module")
def fraud_csv() -> Path:
    if not FRAUD_CSV.is_file():
        pytest.fail(f"the shared fraud dataset is missing: expected it at {FRAUD_CSV}")
    return FRAUD_CSV


def column(result: IngestResult, name: str):
    return next(c for c in result.columns if c.name == name)


def assert_fails(source: Path, workdir: Path, *fragments: str, **options) -> str:
    with pytest.raises(InvalidInput) as caught:
        ingest(source, workdir, **options)
    message = caught.value.message
    for fragment in (source.name, *fragments):
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert not workdir.exists() or list(workdir.iterdir()) == [], "a failed ingest left files behind"
    return message


def test_fraud_csv_is_ingested_with_its_schema(fraud_csv, tmp_path):
    result = ingest(fraud_csv, tmp_path / "out")

    assert result.row_count == 12_336
    assert len(result.columns) == 33
    assert column(result, "FraudFound_P").logical == "numeric"
    assert column(result, "FraudFound_P").type == "int64"
    assert column(result, "Make").logical == "categorical"
    assert column(result, "Make").type == "string"
    assert all(c.nulls == 0 for c in result.columns)
    assert len(result.preview) == 20
    assert result.preview[0]["Make"] == "Honda"
    json.dumps(result.preview, allow_nan=False)
    assert list((tmp_path / "out").iterdir()) == [result.path]
    table = pq.read_table(result.path)
    assert table.num_rows == 12_336
    assert table.equals(pa_csv.read_csv(fraud_csv))


def test_round_trip_through_parquet_csv_and_jsonl_gives_the_same_table(fraud_csv, tmp_path):
    original = pq.read_table(ingest(fraud_csv, tmp_path / "csv").path)
    frame = original.to_pandas()
    frame.to_parquet(tmp_path / "claims.parquet")
    frame.to_csv(tmp_path / "claims.csv", index=False)
    frame.to_json(tmp_path / "claims.jsonl", orient="records", lines=True)

    for name in ("claims.parquet", "claims.csv", "claims.jsonl"):
        result = ingest(tmp_path / name, tmp_path / name.replace(".", "_"))
        assert pq.read_table(result.path).equals(original), name
        assert result.row_count == 12_336


def test_columns_keeps_only_those_in_that_order(fraud_csv, tmp_path):
    parquet = tmp_path / "claims.parquet"
    pq.write_table(pa_csv.read_csv(fraud_csv), parquet)
    jsonl = tmp_path / "claims.jsonl"
    pa_csv.read_csv(fraud_csv).to_pandas().to_json(jsonl, orient="records", lines=True)

    for source in (fraud_csv, parquet, jsonl):
        result = ingest(source, tmp_path / source.suffix[1:], columns=["Make", "FraudFound_P"])
        assert [c.name for c in result.columns] == ["Make", "FraudFound_P"]
        assert pq.read_table(result.path).column_names == ["Make", "FraudFound_P"]
        assert result.row_count == 12_336


def test_a_missing_column_names_it_the_file_and_the_columns_there_are(fraud_csv, tmp_path):
    message = assert_fails(fraud_csv, tmp_path / "out", "'Colour'", "'Make'", "'FraudFound_P'", columns=["Colour"])
    assert "no column" in message


def test_a_csv_column_is_widened_when_a_later_block_does_not_fit(tmp_path):
    # More than one 1 MB block of integers, booleans, dates and empties before the surprises.
    rows = ["n,flag,day,sparse,word"] + [f"{i},true,2020-01-0{1 + i % 9},,w{i % 3}" for i in range(150_000)]
    rows += ["1.5,maybe,soon,5,w"] + [f"{i},false,2020-01-01,,w" for i in range(150_000)]
    rows += ["abc,true,2020-01-01,2.5,w"]
    source = tmp_path / "widen.csv"
    source.write_text("\n".join(rows) + "\n")

    result = ingest(source, tmp_path / "out")

    types = {c.name: c.type for c in result.columns}
    assert types == {"n": "string", "flag": "string", "day": "string", "sparse": "double", "word": "string"}
    assert result.row_count == 300_002
    assert column(result, "sparse").nulls == 300_000
    table = pq.read_table(result.path)
    assert table.column("n")[150_000].as_py() == "1.5"
    assert table.column("n")[-1].as_py() == "abc"
    assert table.column("n")[149_999].as_py() == "149999"  # written as read, not reformatted
    assert table.column("day")[150_000].as_py() == "soon"
    assert pc.sum(table.column("sparse")).as_py() == 7.5
    assert list((tmp_path / "out").iterdir()) == [result.path]


def test_jsonl_types_widen_and_fields_may_appear_later(tmp_path):
    lines = [json.dumps({"a": i, "b": "x"}) for i in range(60_000)]  # more than one 1 MB chunk
    lines += [json.dumps({"a": 1.5, "b": "y", "c": True})]
    source = tmp_path / "events.jsonl"
    source.write_text("\n".join(lines) + "\n")

    result = ingest(source, tmp_path / "out")

    assert {c.name: c.type for c in result.columns} == {"a": "double", "b": "string", "c": "bool"}
    assert column(result, "c").nulls == 60_000
    assert column(result, "c").logical == "boolean"
    assert pq.read_table(result.path).column("a")[-1].as_py() == 1.5


def test_preview_is_json_with_iso_datetimes_and_no_nan(tmp_path):
    source = tmp_path / "readings.parquet"
    when = pa.array([pd.Timestamp("2024-05-01 12:30:00")] * 3, pa.timestamp("us"))
    pq.write_table(pa.table({"when": when, "value": pa.array([1.0, float("nan"), None])}), source)

    result = ingest(source, tmp_path / "out")

    assert result.preview == [
        {"when": "2024-05-01T12:30:00", "value": 1.0},
        {"when": "2024-05-01T12:30:00", "value": None},
        {"when": "2024-05-01T12:30:00", "value": None},
    ]
    assert column(result, "when").logical == "datetime"
    json.dumps(result.preview, allow_nan=False)


def test_tsv_latin1_and_empty_header_names(tmp_path):
    source = tmp_path / "people.tsv"
    source.write_bytes("name\t\tcity\nJosé\t1\tMálaga\nAna\t2\tLeón\n".encode("latin-1"))

    result = ingest(source, tmp_path / "out", encoding="latin-1")

    assert [c.name for c in result.columns] == ["name", "column_2", "city"]
    assert result.preview[0] == {"name": "José", "column_2": 1, "city": "Málaga"}


def test_format_can_be_given_when_the_suffix_says_nothing(tmp_path):
    source = tmp_path / "export.dat"
    source.write_text("a,b\n1,2\n")
    assert ingest(source, tmp_path / "out", format="csv").row_count == 1
    assert_fails(source, tmp_path / "out2", *FORMATS)


@pytest.mark.parametrize(
    ("name", "content", "fragments", "options"),
    [
        ("latin.csv", "id,city\n1,Paris\n2,Málaga\n".encode("latin-1"), ["UTF-8", "line 3", "encoding"], {}),
        ("ragged.csv", b"a,b,c\n1,2,3\n4,5\n6,7,8\n", ["row 3", "header", "2 values", "3 columns"], {}),
        ("nothing.csv", b"", ["empty"], {}),
        ("header.csv", b"a,b,c\n", ["no rows"], {}),
        ("latin_ragged.csv", "a,b\n1,2\n3,é,x\n".encode("latin-1"), ["row 3", "3 values"], {}),
        ("twice.csv", b"a,b,a\n1,2,3\n", ["'a'"], {}),
        ("workbook.csv", b"PK\x03\x04\x14\x00\x06\x00\x08\x00" * 20, ["binary", "not CSV"], {}),
        ("garbage.parquet", b"this is not parquet at all" * 10, ["not a Parquet file"], {}),
        ("broken.jsonl", b'{"a": 1}\n{"a": 2}\n{"a": \n{"a": 4}\n', ["line 3", "not valid JSON"], {}),
        ("array.json", b"[1, 2, 3]\n", ["line 1", "not a JSON object"], {}),
        ("mixed.jsonl", b'{"a": 1}\n{"a": "one"}\n', ["/a", "number", "string"], {}),
        ("latin.jsonl", '{"a": "Málaga"}\n'.encode("latin-1"), ["UTF-8", "line 1"], {}),
        ("empty.jsonl", b"\n\n", ["no rows"], {}),
        ("claims.xlsx", b"PK\x03\x04", ["csv", "parquet", "jsonl"], {}),
        ("claims.csv", b"a\n1\n", ["'xlsx'", "csv", "parquet", "jsonl"], {"format": "xlsx"}),
        ("claims.csv", b"a\n1\n", ["'klingon'"], {"encoding": "klingon"}),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_bad_input_is_invalid_input_naming_the_problem(tmp_path, name, content, fragments, options):
    source = tmp_path / name
    source.write_bytes(content)
    assert_fails(source, tmp_path / "out", *fragments, **options)


def test_a_missing_file_is_invalid_input(tmp_path):
    assert_fails(tmp_path / "nowhere.csv", tmp_path / "out", "does not exist")


def test_errors_after_writing_began_name_the_row_and_leave_nothing(tmp_path):
    good = "".join(f"{i},{i * 2},text {i}\n" for i in range(200_000))  # a few MB: several blocks in
    ragged = tmp_path / "late_ragged.csv"
    ragged.write_text("a,b,c\n" + good + "1,2\n" + good)
    assert_fails(ragged, tmp_path / "out", "row 200002")

    encoded = tmp_path / "late_latin.csv"
    encoded.write_bytes(("a,b,c\n" + good).encode() + "1,2,Málaga\n".encode("latin-1"))
    assert_fails(encoded, tmp_path / "out", "UTF-8", "line 200002")

    broken = tmp_path / "late_broken.jsonl"
    broken.write_text("".join(f'{{"a": {i}}}\n' for i in range(200_000)) + "{oops}\n")
    assert_fails(broken, tmp_path / "out", "line 200001")


# The child reports its own peak from VmHWM: ru_maxrss would include pytest's own RSS, which
# Linux carries over into a forked child's high-water mark across exec.
CHILD = """
import json, re, sys
from pathlib import Path
from aiflywheel.kernel.ingest import ingest
rows = ingest(Path(sys.argv[1]), Path(sys.argv[2])).row_count
peak_kb = int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text())[1])
print(json.dumps({"rows": rows, "peak_mb": peak_kb / 1024}))
"""


def ingest_in_subprocess(source: Path, workdir: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(source), str(workdir)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads peak RSS from /proc (Linux)")
def test_memory_stays_bounded_on_a_large_csv(tmp_path):
    rng = np.random.default_rng(0)
    words = pa.array(["claim", "filed", "after", "minor", "collision", "near", "depot", "rear", "bumper"])
    big = tmp_path / "big.csv"
    with open(big, "wb") as sink:
        for part in range(4):
            n = 500_000
            chunk = pa.table(
                {
                    "id": pa.array(np.arange(part * n, (part + 1) * n)),
                    "amount": pa.array(rng.lognormal(6, 1.5, n)),
                    "category": pa.array(rng.choice([f"c{i}" for i in range(30)], n)),
                    "day": pa.array(rng.integers(15_000, 20_000, n).astype("datetime64[D]")),
                    "note": pc.binary_join_element_wise(
                        *[words.take(pa.array(rng.integers(0, len(words), n))) for _ in range(8)], " "
                    ),
                }
            )
            pa_csv.write_csv(chunk, sink, pa_csv.WriteOptions(include_header=part == 0))
    size_mb = big.stat().st_size / 2**20
    tiny = tmp_path / "tiny.csv"
    tiny.write_text("id,amount\n1,2.5\n")

    small = ingest_in_subprocess(tiny, tmp_path / "tiny_out")
    large = ingest_in_subprocess(big, tmp_path / "big_out")

    assert size_mb > 180
    assert large["rows"] == 2_000_000
    assert large["peak_mb"] < 400, large
    assert large["peak_mb"] < 2 * small["peak_mb"] + 250, (small, large)
