"""`jilin-pipelines lineage decision|person|graph` answer on the sample run, masked unless revealed with a reason,
and a reveal is itself recorded in the exchange audit log."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
import sqlalchemy as sa

from jilin_pipelines.cli import main

ID = re.compile(r"(?<!\d)\d{17}[\dX](?!\d)")


@pytest.fixture(scope="module")
def db(sample_run):
    return sample_run.settings.base_db_url


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_decision_prints_its_evidence_back_to_the_delivery_rows(capsys, db):
    engine = sa.create_engine(db)
    decision = pd.read_sql("select * from social_assistance_decision where decision = 'ineligible' "
                           "order by application_id limit 1", engine).iloc[0]
    evidence = pd.read_sql(sa.text("select * from scenario_evidence where decision_id = :d"), engine,
                           params={"d": decision["application_id"]})
    engine.dispose()
    code, out, _ = run(capsys, "lineage", "decision", "social_assistance_verification", decision["application_id"],
                       "--db-url", db)
    assert code == 0
    assert f"decision={decision['decision']}" in out and decision["reasons"] in out
    for reason in json.loads(decision["reasons"]):
        assert f"— {reason}:" in out
    for row in evidence.itertuples():  # every delivery row behind it, with its file's digest
        assert f"{row.dataset} {row.delivery_partition} row {row.source_row} sha256 {row.sha256[:16]}" in out
    assert not ID.search(out), "an unmasked ID number in the output"


def test_person_lists_every_decision_that_used_their_data_masked_unless_revealed(capsys, db):
    engine = sa.create_engine(db)
    used = pd.read_sql("select person_id, count(distinct scenario) n from scenario_evidence where person_id is not "
                       "null group by person_id order by n desc, person_id limit 1", engine).iloc[0]
    person = used["person_id"]
    decisions = pd.read_sql(sa.text("select distinct scenario, partition, decision_id, purpose from scenario_evidence "
                                    "where person_id = :p"), engine, params={"p": person})
    code, out, _ = run(capsys, "lineage", "person", person, "--db-url", db)
    assert code == 0
    assert f"{len(decisions)} decisions used their data" in out  # the count says what is printed
    assert len([line for line in out.splitlines() if line.startswith("  ")]) == len(decisions)
    for s in decisions["scenario"].unique():
        assert f"{s} (purpose {s})" in out
    assert person not in out and not ID.search(out)

    code, _, err = run(capsys, "lineage", "person", person, "--db-url", db, "--reveal")
    assert code == 2 and "--reason" in err
    with engine.connect() as conn:
        before = conn.execute(sa.text("select count(*) from exchange_audit")).scalar_one()
    code, out, _ = run(capsys, "lineage", "person", person, "--db-url", db, "--reveal", "--reason", "complaint 2025-17")
    assert code == 0 and person in out
    audit = pd.read_sql("select * from exchange_audit order by id", engine)
    engine.dispose()
    assert len(audit) == before + 1
    assert audit.iloc[-1]["purpose"] == "reveal: complaint 2025-17"


def test_graph_names_every_base_table_and_delivery_upstream(capsys):
    code, out, _ = run(capsys, "lineage", "graph", "commercial_vehicle_safety")
    assert code == 0
    for name in ("base/road_transport_permit", "base/violation", "base/practitioner_qualification",
                 "standardised/traffic_police.violations", "raw/transport.practitioner_qualifications"):
        assert name in out
    code, _, err = run(capsys, "lineage", "graph", "no_such_scenario")
    assert code == 2 and "no scenario" in err
