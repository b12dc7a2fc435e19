"""The data's freshness is the day it is about: the raw asset's ``newest_day`` check measures how far the newest
delivered day landed is behind the latest complete day, whatever day a run landed it on."""

from __future__ import annotations

from datetime import date

import dagster as dg

from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.defs.raw_assets import NEWEST_DAY_CHECK, newest_day_result
from jilin_pipelines.raw import land_day, newest_landed_day
from jilin_pipelines.settings import CHECKOUT, Settings

ENTRY = next(e for e in catalogue().entries if e.id == "transport.road_transport_permits")


def test_the_newest_day_is_the_newest_delivered_one(tmp_path):
    settings = Settings.from_env({"JILIN_DATA_DIR": str(tmp_path / "data"),
                                  "JILIN_SOURCES_DIR": str(CHECKOUT / "sample_sources")})
    assert newest_landed_day(ENTRY, settings) is None
    missing = newest_day_result(ENTRY, settings, date(2025, 6, 4))
    assert not missing.passed and missing.metadata["newest_day"].value == "none landed"
    land_day(ENTRY, date(2025, 6, 2), settings)
    land_day(ENTRY, date(2025, 6, 3), settings)
    land_day(ENTRY, date(2025, 6, 6), settings)  # the sample has no delivery that day: landed empty, not newer
    assert newest_landed_day(ENTRY, settings) == date(2025, 6, 3)

    on_time = newest_day_result(ENTRY, settings, date(2025, 6, 4))  # yesterday's delivery is there
    assert on_time.passed and on_time.check_name == NEWEST_DAY_CHECK
    assert on_time.severity == dg.AssetCheckSeverity.WARN
    late = newest_day_result(ENTRY, settings, date(2026, 12, 5))  # a landing today of an old day is not fresh
    assert not late.passed
    assert late.metadata["days_behind"].value == (date(2026, 12, 4) - date(2025, 6, 3)).days
    assert "newest delivered day 2025-06-03" in late.description
