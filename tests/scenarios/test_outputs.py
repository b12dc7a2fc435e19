"""The scenarios' output tables are declared once, in ``catalogue/scenarios/outputs.yaml``: the serving database's
tables are generated from it and every scenario takes its table, key and column meanings from it."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from jilin_pipelines.base.schema import metadata
from jilin_pipelines.catalogue.outputs import Outputs, outputs
from jilin_pipelines.scenarios import SCENARIOS, scenario


def test_every_scenario_has_exactly_one_declared_output():
    assert sorted(outputs().outputs) == sorted(s.name for s in SCENARIOS)
    assert len({s.output for s in SCENARIOS}) == len(SCENARIOS)


def test_the_serving_tables_are_the_declarations():
    for s in SCENARIOS:
        declared = outputs().of(s.name)
        table = metadata().tables[s.output]
        assert [c.name for c in table.columns] == list(declared.columns)
        assert tuple(c.name for c in table.primary_key.columns) == s.output_key == declared.key
        assert {c.name for c in table.columns if c.nullable} == {n for n, c in declared.columns.items() if c.nullable}


def test_known_declarations():
    """A few facts written by hand, from DESIGN's scenario rules."""
    assert scenario("social_assistance_verification").output == "social_assistance_decision"
    assert scenario("social_assistance_verification").output_key == ("application_id", "partition")
    assert scenario("commercial_vehicle_safety").output_key == ("plate_no", "plate_type", "as_of")
    risk = metadata().tables["commercial_vehicle_risk"]
    assert isinstance(risk.c.unqualified_driver.type, sa.Boolean)
    assert isinstance(risk.c.violations_30d.type, sa.BigInteger)
    assert isinstance(metadata().tables["budget_staff_basic_info"].c.contribution_base_total.type, sa.Float)
    approval = metadata().tables["social_security_approval"]
    assert approval.c.id_number.nullable and not approval.c.decision.nullable
    # a scenario's own meaning, and the meaning the scenarios share
    assert "30 days" in scenario("commercial_vehicle_safety").describe("violations_30d")
    assert scenario("budget_staff_basic_info").describe("as_of").startswith("the day decided")
    assert scenario("certificate_verification").describe("no_such_column") is None


def test_a_column_takes_only_its_declared_values(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'out.db'}")
    table = metadata().tables["certificate_verification"]
    table.create(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), {"request_id": "R1", "partition": date(2026, 11, 2), "result": "not_found"})
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(table.insert(), {"request_id": "R2", "partition": date(2026, 11, 2), "result": "probably"})
    engine.dispose()


@pytest.mark.parametrize("bad, says", [
    ({"table": "t", "comment": "c", "key": ["k"], "columns": {"a": {"type": "text"}}}, "not among the columns"),
    ({"table": "t", "comment": "c", "key": ["a"], "columns": {"a": {"type": "text", "nullable": True}}},
     "cannot be nullable"),
    ({"table": "t", "comment": "c", "key": ["a"], "columns": {"a": {"type": "money"}}}, "type"),
])
def test_a_bad_declaration_is_refused_naming_what_is_wrong(bad, says):
    with pytest.raises(ValidationError, match=says):
        Outputs.model_validate({"outputs": {"s": bad}})
