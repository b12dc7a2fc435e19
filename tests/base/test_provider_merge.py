"""A dataset delivered by many providers: each provider's file is its own delivery in the base (its provider named
in the ``delivery`` table and in provenance), and one provider's re-delivery touches only the keys it delivers —
the other providers' versions and golden records stay as merged, row for row — on SQLite and the real PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import date

import pandas as pd
import sqlalchemy as sa
from base_testkit import dump, hand_frame

from jilin_pipelines.base import merge_partition
from jilin_pipelines.base.golden import provenance_sources
from jilin_pipelines.base.query import provenance_deliveries_of
from jilin_pipelines.quality import layout

DL = "traffic_police.driving_licences"
D1 = date(2025, 6, 2)
X, Y, Z = "220102199001011239", "220103198505054314", "220104197001010010"


def licence(id_number: str, name: str, provider: str) -> dict:
    return {"id_number": id_number, "name": name, "sex": "1", "status_code": "A",
            "updated_at": "2025-06-02 08:00:00", "provider": provider}


def delivery(rows: list[dict]) -> pd.DataFrame:
    """The day's partition of the providers' deliveries, each provider's rows with its own file's SHA-256."""
    frame = hand_frame(DL, D1, rows)
    content = {p: hashlib.sha256(repr([r for r in rows if r["provider"] == p]).encode()).hexdigest()
               for p in {r["provider"] for r in rows}}
    frame[layout.SOURCE_SHA256] = frame[layout.PROVIDER].map(content)
    return frame


def rows_of(engine: sa.Engine, id_number: str) -> dict[str, list[tuple]]:
    return {t: [r for r in rows if id_number in r] for t, rows in dump(engine).items()
            if t in ("person", "person_source_version", "person_newest")}


def test_one_providers_redelivery_touches_only_its_keys(engine):
    first = [licence(X, "张三", "P1"), licence(Y, "李四", "P1"), licence(Z, "王五", "P2")]
    stats = merge_partition(engine, DL, D1, delivery(first)).tables["person"]
    assert (stats.versions, stats.inserted) == (3, 3)
    with engine.connect() as conn:
        providers = dict(conn.execute(sa.text("SELECT provider, standardised_rows FROM delivery")).fetchall())
        provenance = conn.execute(sa.text("SELECT provenance FROM person WHERE id_number = :x"), {"x": Z}).scalar_one()
    assert providers == {"P1": 2, "P2": 1}
    source = provenance_sources(provenance, provenance_deliveries_of(engine, [provenance]))["name"]
    assert source["provider"] == "P2" and source["dataset"] == DL
    z_before = rows_of(engine, Z)

    # P1 re-delivers: Y renamed. P1's keys are touched (its file is a new delivery), P2's are not
    again = [licence(X, "张三", "P1"), licence(Y, "李肆", "P1"), licence(Z, "王五", "P2")]
    stats = merge_partition(engine, DL, D1, delivery(again)).tables["person"]
    assert (stats.versions, stats.inserted, stats.updated, stats.unchanged, stats.deleted) == (3, 0, 2, 1, 0)
    assert rows_of(engine, Z) == z_before
    with engine.connect() as conn:
        names = dict(conn.execute(sa.text("SELECT id_number, name FROM person")).fetchall())
        kept = conn.execute(sa.text("SELECT COUNT(*) FROM delivery")).scalar_one()
    assert names == {X: "张三", Y: "李肆", Z: "王五"} and kept == 2  # P1's old delivery is forgotten

    # merged again unchanged: nothing is touched
    stats = merge_partition(engine, DL, D1, delivery(again)).tables["person"]
    assert (stats.versions, stats.inserted, stats.updated, stats.unchanged, stats.deleted) == (3, 0, 0, 3, 0)
