"""The front-end exchange database read from SQLite and from the real PostgreSQL server."""

from __future__ import annotations

import hashlib
import random
from datetime import datetime

import pyarrow as pa
import pytest
import sqlalchemy as sa
from sources_testkit import DAY, check_invariants, data_rows

from jilin_pipelines.sources import DeliveryError, frontdb, read_frontdb
from jilin_pipelines.sources.frontdb import SHANGHAI, masked_url

COLUMNS = ["AAC001", "AAC002", "AAC003", "AAC004", "AAC006", "AAB001", "AAE140", "AAC008", "AAE180", "AAE030", "AAE036"]
KEY = ["AAC002", "AAE140", "AAB001"]
DATASET = "social_security.insured_persons"

# (AAC001, AAC002, AAC003, AAC004, AAC006, AAB001, AAE140, AAC008, AAE180, AAE030, AAE036)
ROWS = [
    ("P1", "220102198001011234", "张三", "1", 19800101, "E001", "110", "1", 3500.5, "2020-01-01", "2025-06-01 10:00:00"),
    # the same person, type and employer twice on the day: both kept, ordered by the other columns
    ("P1", "220102198001011234", "李四", "1", 19800101, "E001", "110", "1", 3500.0, "2020-01-01", "2025-06-01 09:00:00"),
    ("P1", "220102198001011234", "张三", "1", 19800101, "E002", "110", "1", 4000.0, "2021-03-01", "2025-06-01 11:00:00"),
    ("P2", "22010219900101111x", "王 五", "2", 19900101, "E002", "310", "2", None, "2019-07-01", "2025-06-01 23:59:59"),
    ("P3", "220102199501012222", "赵六", "9", 19950101, "E003", "210", "4", 1.0, "2018-01-01", "2025-06-01 00:00:00"),
    ("P4", "220102199601013333", "O'Brien; DROP TABLE x", "1", 19960101, "E003", "110", "1", 2800.0, "2018-01-01",
     "2025-06-01"),
    # other days: the day before and the first instant of the next day
    ("P5", "220102199701014444", "孙七", "1", 19970101, "E001", "110", "1", 3000.0, "2018-01-01", "2025-05-31 23:59:59"),
    ("P6", "220102199801015555", "周八", "1", 19980101, "E001", "110", "1", 3000.0, "2018-01-01", "2025-06-02 00:00:00"),
]
EXPECTED_ORDER = [
    ("220102198001011234", "110", "E001"),
    ("220102198001011234", "110", "E001"),
    ("220102198001011234", "110", "E002"),
    ("22010219900101111x", "310", "E002"),
    ("220102199501012222", "210", "E003"),
    ("220102199601013333", "110", "E003"),
]


def load(url: str, *, time_type=sa.Text(), amount_type=sa.Float(), birth_type=sa.Integer()) -> None:
    engine = sa.create_engine(url)
    md = sa.MetaData()
    types = {"AAC006": birth_type, "AAE180": amount_type, "AAE036": time_type}
    table = sa.Table("SI_INSURED", md, *[sa.Column(c, types.get(c, sa.Text())) for c in COLUMNS],
                     sa.Column("INTERNAL_ID", sa.Integer))
    md.create_all(engine)
    rows = [dict(zip(COLUMNS, r)) | {"INTERNAL_ID": i} for i, r in enumerate(ROWS)]
    random.Random(3).shuffle(rows)  # insertion order must not matter
    if isinstance(time_type, sa.DateTime):
        for r in rows:
            text = r["AAE036"] if " " in r["AAE036"] else r["AAE036"] + " 00:00:00"
            value = datetime.fromisoformat(text)
            r["AAE036"] = value.replace(tzinfo=SHANGHAI) if time_type.timezone else value
    with engine.begin() as conn:
        conn.execute(table.insert(), rows)
    engine.dispose()


def read(url, **kw):
    d = read_frontdb(url, dataset=DATASET, day=kw.pop("day", DAY), table=kw.pop("table", "SI_INSURED"),
                     key_columns=KEY, columns=kw.pop("columns", COLUMNS), **kw)
    check_invariants(d)
    return d


def canonical_sha(rows: list[dict]) -> str:
    """The documented canonical text, built independently of the reader."""

    def esc(v):
        if v is None:
            return "\\N"
        return v.replace("\\", "\\\\").replace("\x1f", "\\x1f").replace("\n", "\\n").replace("\r", "\\r")

    text = "\x1f".join(COLUMNS) + "\n" + "".join("\x1f".join(esc(r[c]) for c in COLUMNS) + "\n" for r in rows)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.fixture()
def sqlite_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'exchange.sqlite'}"
    load(url)
    return url


def test_sqlite_day_read(sqlite_url):
    d = read(sqlite_url)

    assert d.location == f"SI_INSURED@{sqlite_url}" and d.dataset == DATASET
    assert d.table.column_names == COLUMNS + ["_source_row", "_error", "_raw"]  # INTERNAL_ID not selected
    assert d.delivered_rows == 6 and d.unparseable_rows == 0
    rows = data_rows(d)
    assert [(r["AAC002"], r["AAE140"], r["AAB001"]) for r in rows] == EXPECTED_ORDER
    assert d.table.column("_source_row").to_pylist() == [1, 2, 3, 4, 5, 6]
    # duplicates on the key are ordered by the remaining columns: 张三 (U+5F20) before 李四 (U+674E)
    assert [rows[0]["AAC003"], rows[1]["AAC003"]] == ["张三", "李四"]
    assert rows[0]["AAE180"] == "3500.5" and rows[1]["AAE180"] == "3500" and rows[3]["AAE180"] is None
    assert rows[0]["AAC006"] == "19800101" and rows[4]["AAE180"] == "1"
    assert rows[5]["AAC003"] == "O'Brien; DROP TABLE x" and rows[5]["AAE036"] == "2025-06-01"
    assert {r["AAE036"][:10] for r in rows} == {"2025-06-01"}
    assert d.sha256 == canonical_sha(rows)
    assert d.warnings == []


def test_sqlite_no_rows_is_no_delivery(sqlite_url):
    d = read(sqlite_url, day=DAY.replace(day=20))
    assert d.location is None and d.delivered_rows == 0 and d.table.column_names[:11] == COLUMNS
    assert "no delivery" in str(d.warnings[0]) and "SI_INSURED" in str(d.warnings[0])


def test_missing_table_column_or_database(sqlite_url, tmp_path):
    with pytest.raises(DeliveryError, match="no table 'SI_EMPLOYER'"):
        read(sqlite_url, table="SI_EMPLOYER")
    with pytest.raises(DeliveryError, match="AAB999"):
        read(sqlite_url, columns=COLUMNS + ["AAB999"])
    missing = tmp_path / "nowhere.sqlite"
    with pytest.raises(DeliveryError, match="does not exist"):
        read(f"sqlite:///{missing}")
    assert not missing.exists()  # not created by connecting


def test_names_are_identifiers_not_sql(sqlite_url):
    with pytest.raises(DeliveryError, match="no table"):
        read(sqlite_url, table='SI_INSURED"; DROP TABLE "SI_INSURED')
    assert read(sqlite_url).delivered_rows == 6  # still there


def test_engine_can_be_shared(sqlite_url):
    engine = sa.create_engine(sqlite_url)
    try:
        assert read(engine).delivered_rows == 6
        assert read(engine, day=DAY.replace(day=2)).delivered_rows == 1  # the engine stays usable
    finally:
        engine.dispose()


def test_password_is_masked():
    url = "postgresql+psycopg2://reader:TopSecret42@127.0.0.1:1/exchange"
    assert "TopSecret42" not in masked_url(url) and "***" in masked_url(url)
    with pytest.raises(DeliveryError) as err:
        read(url)
    assert "TopSecret42" not in str(err.value) and "SI_INSURED@postgresql+psycopg2://reader:***@127.0.0.1:1" in str(err.value)


@pytest.mark.postgres
@pytest.mark.parametrize(
    "time_type",
    [sa.Text(), sa.String(19), sa.DateTime(), sa.DateTime(timezone=True)],
    ids=["text", "varchar", "timestamp", "timestamptz"],
)
def test_postgres_gives_the_same_delivery_as_sqlite(sqlite_url, pg_schema_url, time_type):
    load(pg_schema_url, time_type=time_type, amount_type=sa.Numeric(12, 2))
    lite = read(sqlite_url)
    pg = read(pg_schema_url)

    assert pg.location.startswith("SI_INSURED@postgresql") and "search_path" in pg.location
    assert pg.delivered_rows == 6
    lite_rows, pg_rows = data_rows(lite), data_rows(pg)
    if isinstance(time_type, sa.DateTime):  # a date-only text becomes midnight as a timestamp
        lite_rows[5]["AAE036"] = "2025-06-01 00:00:00"
        assert pg_rows == lite_rows
        assert pg.sha256 == canonical_sha(pg_rows)
    else:
        assert pg.table.equals(lite.table)
        assert pg.sha256 == lite.sha256 and pg.size_bytes == lite.size_bytes
    assert read(pg_schema_url, day=DAY.replace(day=20)).location is None
    assert read(pg_schema_url, day=DAY.replace(day=2)).delivered_rows == 1


@pytest.mark.postgres
def test_postgres_text_collation_does_not_change_the_order(pg_schema_url, sqlite_url):
    """Bytewise order on PostgreSQL even for columns in a linguistic collation, so the order is SQLite's."""
    load(pg_schema_url)
    change = 'UPDATE "SI_INSURED" SET "AAB001" = \'e001\' WHERE "AAB001" = \'E001\' AND "AAC001" = \'P1\''
    engine = sa.create_engine(pg_schema_url)
    with engine.begin() as conn:
        for col in ("AAB001", "AAC003"):
            conn.execute(sa.text(f'ALTER TABLE "SI_INSURED" ALTER COLUMN "{col}" TYPE text COLLATE "en-US-x-icu"'))
        conn.execute(sa.text(change))
        # in this collation e001 sorts before E002; bytewise (and in SQLite) after it
        assert conn.execute(sa.text("SELECT 'e001' < 'E002' COLLATE \"en-US-x-icu\"")).scalar() is True
    engine.dispose()
    lite_engine = sa.create_engine(sqlite_url)
    with lite_engine.begin() as conn:
        conn.execute(sa.text(change))
    lite_engine.dispose()
    lite, pg = read(sqlite_url), read(pg_schema_url)
    assert [r["AAB001"] for r in data_rows(lite)][:3] == ["E002", "e001", "e001"]
    assert pg.table.equals(lite.table)


def test_rows_no_day_ever_selects_are_counted(sqlite_url):
    from jilin_pipelines.sources.frontdb import count_unselectable

    assert count_unselectable(sqlite_url, table="SI_INSURED") == 0
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(sa.text('UPDATE "SI_INSURED" SET "AAE036" = \'no time\' WHERE "AAC001" = \'P3\''))
        conn.execute(sa.text('UPDATE "SI_INSURED" SET "AAE036" = NULL WHERE "AAC001" = \'P4\''))
    engine.dispose()
    assert count_unselectable(sqlite_url, table="SI_INSURED") == 2
    assert read(sqlite_url).delivered_rows == 4


@pytest.mark.parametrize("written", ["2025/06/01 09:00:00", "2025/6/1", "2025-6-1 09:00:00", "20250601",
                                     "2025.06.01", "2025年6月1日", "2025-6-1T09:00:00"])
def test_a_handling_time_in_another_layout_is_selected_for_its_day_with_a_warning(sqlite_url, written):
    from jilin_pipelines.sources.frontdb import count_unselectable

    before = read(sqlite_url).delivered_rows
    engine = sa.create_engine(sqlite_url)
    value = int(written) if written.isdigit() else written  # the integer 20250601 as the database holds it
    with engine.begin() as conn:
        conn.execute(sa.text('UPDATE "SI_INSURED" SET "AAE036" = :v WHERE "AAC001" = \'P3\''), {"v": value})
    engine.dispose()
    delivery = read(sqlite_url)
    assert delivery.delivered_rows == before  # the row is still selected for its day
    assert any("another layout" in str(w) and "1 rows" in str(w) for w in delivery.warnings)
    assert count_unselectable(sqlite_url, table="SI_INSURED") == 0
    # ... and not for another day: 2025-6-1 is no prefix of 2025-6-10
    assert read(sqlite_url, day=DAY.replace(day=10)).location is None


@pytest.mark.postgres
def test_rows_no_day_ever_selects_are_counted_on_postgres(pg_schema_url):
    from jilin_pipelines.sources.frontdb import count_unselectable

    load(pg_schema_url)
    assert count_unselectable(pg_schema_url, table="SI_INSURED") == 0
    engine = sa.create_engine(pg_schema_url)
    with engine.begin() as conn:
        conn.execute(sa.text('UPDATE "SI_INSURED" SET "AAE036" = \'yesterday\' WHERE "AAC001" = \'P3\''))
    engine.dispose()
    assert count_unselectable(pg_schema_url, table="SI_INSURED") == 1


@pytest.mark.postgres
@pytest.mark.parametrize("chunk_rows", [1, 4])
def test_reading_in_chunks_gives_the_same_delivery(sqlite_url, pg_schema_url, monkeypatch, chunk_rows):
    """Rows are fetched and rendered a chunk at a time (bounded memory), from a server-side cursor on
    PostgreSQL: whatever the chunk, the same table and digest, a column null in a whole chunk included."""
    load(pg_schema_url, amount_type=sa.Numeric(12, 2))
    whole = {"sqlite": read(sqlite_url), "postgresql": read(pg_schema_url)}
    monkeypatch.setattr(frontdb, "CHUNK_ROWS", chunk_rows)
    for name, url in (("sqlite", sqlite_url), ("postgresql", pg_schema_url)):
        chunked = read(url)
        assert chunked.table.equals(whole[name].table), name
        assert (chunked.sha256, chunked.size_bytes) == (whole[name].sha256, whole[name].size_bytes)
        sunk: list[pa.Table] = []  # the raw landing's way: each chunk passed on as it is read
        streamed = read(url, sink=sunk.append)
        assert len(sunk) == -(-whole[name].delivered_rows // chunk_rows)
        assert pa.concat_tables(sunk).equals(whole[name].table), name
        assert streamed.streamed == (whole[name].delivered_rows, 0) and streamed.table.num_rows == 0
        assert (streamed.sha256, streamed.size_bytes) == (whole[name].sha256, whole[name].size_bytes)
    assert whole["sqlite"].table.column("AAE180").to_pylist()[3] is None  # a chunk of one null AAE180
