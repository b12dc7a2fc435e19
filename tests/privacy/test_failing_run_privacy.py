"""A probe for the failure paths: a run whose deliveries are refused (a CSV and an XLSX without their header row,
whose first data row holds a full ID number and a name) and whose front-end database cannot be reached (its path
holds an ID number) leaves no personal value unmasked anywhere people read — the Dagster instance's storage (event
log, run records, compute logs), the OpenLineage events (FAIL included), the alerts, the holds and the console; an
ID number in a configured path is masked in every message."""

from __future__ import annotations

import io
import shutil
from datetime import date

import openpyxl
import sqlalchemy as sa

from jilin_pipelines.runner import run_days
from jilin_pipelines.settings import CHECKOUT

ID_IN_ROW, NAME_IN_ROW = "220102199003071234", "黄芬芬"
ID_IN_PATH = "220102198807151235"
DAY = "20250602"


def test_refused_deliveries_and_a_failed_landing_leak_nothing(tmp_path, monkeypatch):
    sources = tmp_path / ID_IN_PATH / "sources"
    vehicles = sources / "traffic_police" / "motor_vehicles" / f"motor_vehicles_{DAY}.csv"
    vehicles.parent.mkdir(parents=True)
    sample = (CHECKOUT / "sample_sources" / "traffic_police" / "motor_vehicles" / f"motor_vehicles_{DAY}.csv")
    lines = sample.read_bytes().decode("gbk").splitlines()
    fields = lines[1].split(",")
    fields[5], fields[6] = ID_IN_ROW, NAME_IN_ROW  # the owner's ID number and name
    vehicles.write_bytes(("\r\n".join([",".join(fields), *lines[2:5]]) + "\r\n").encode("gbk"))  # no header row
    permits = sources / "transport" / "road_transport_permits" / f"road_transport_permits_{DAY}.xlsx"
    permits.parent.mkdir(parents=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "道路运输证"
    ws.append(["DY220100000001", "吉A12345", "01", NAME_IN_ROW, ID_IN_ROW, "道路普通货物运输", "2015-01-01",
               "2027-01-01", "营运", "2025-06-02 10:00:00"])
    wb.save(permits)
    (sources / "social_security").mkdir()  # no exchange.sqlite: the front-end database cannot be reached
    shutil.copytree(CHECKOUT / "sample_sources" / "jishiban", sources / "jishiban")
    data, home = tmp_path / "data", tmp_path / "home"
    for k, v in {"JILIN_SOURCES_DIR": str(sources), "JILIN_DATA_DIR": str(data), "DAGSTER_HOME": str(home)}.items():
        monkeypatch.setenv(k, v)

    out = io.StringIO()
    code = run_days(start=date(2025, 6, 2), end=date(2025, 6, 2), force=False, out=out)
    console = out.getvalue()
    assert code == 1, console  # the unreachable database fails the landing: ours to retry
    assert "held partitions: 2" in console  # the two deliveries without a header are held
    assert not (sources / "social_security" / "exchange.sqlite").exists()  # looking for it created nothing

    engine = sa.create_engine(f"sqlite:///{data / 'base.sqlite'}")
    with engine.connect() as conn:
        holds = " ".join(r[0] for r in conn.execute(sa.text("select reason from partition_hold")))
    engine.dispose()
    places = {
        "the Dagster instance": [p for p in home.rglob("*") if p.is_file()],
        "the OpenLineage events": sorted((data / "lineage").glob("*.jsonl")),
        "the alerts": sorted((data / "alerts").glob("*")),
    }
    texts = {where: "\n".join(p.read_bytes().decode("utf-8", errors="ignore") for p in paths)
             for where, paths in places.items()}
    texts["the console"], texts["the holds"] = console, holds
    # the places hold the failure (so that finding nothing in them means something)
    assert "the first row is not the header" in texts["the alerts"] and "does not exist" in texts["the alerts"]
    assert "FAIL" in texts["the OpenLineage events"] and "STEP_FAILURE" in texts["the Dagster instance"]
    for where, text in texts.items():
        for secret in (ID_IN_ROW, NAME_IN_ROW):  # the delivered values: nowhere
            assert secret not in text, f"{secret} unmasked in {where}"
    # an ID number in a path (configuration: the instance keeps it as given, lineage names datasets by it) is
    # masked in every message: the alerts, the holds, the console, and the errors stored or emitted
    for where in ("the alerts", "the holds", "the console"):
        assert ID_IN_PATH not in texts[where], f"{ID_IN_PATH} unmasked in {where}"
    for where in ("the Dagster instance", "the OpenLineage events"):
        text = texts[where]
        at = [i for i in range(len(text)) if text.startswith("the database file does not exist", i)]
        assert at, f"no error stored in {where}"
        assert not any(ID_IN_PATH in text[max(0, i - 200):i] for i in at), f"{ID_IN_PATH} in an error in {where}"
