"""营运车辆安全 — commercial-vehicle safety (DESIGN, "Scenario rules").

Per vehicle with a road transport permit in status 营运 as of D: its violations (matched on plate number and
type) and their points in the window D-29 ... D; ``unqualified_driver`` when a violation's driver holds no
practitioner qualification that is ``valid``, valid on the violation's day and matches the permit's scope; risk
``high`` with at least 3 violations, 12 points or an unqualified driver, ``medium`` with at least one violation,
else ``low``.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from jilin_pipelines.scenarios.core import (
    BaseView, Decisions, Fairness, Scenario, Thresholds, concat_evidence, evidence, joined_id, literal,
)

IN_SERVICE = "营运"
SCOPE_QUALIFICATION = {
    "道路旅客运输": "passenger_driver",
    "道路普通货物运输": "freight_driver",
    "危险货物运输": "dangerous_goods_driver",
    "出租客运": "taxi_driver",
}
VEHICLE = ["plate_no", "plate_type"]


def _in_service(permits: pd.DataFrame) -> pd.DataFrame:
    """The permits in service that name their vehicle."""
    return permits[(permits["status"] == IN_SERVICE) & permits["plate_no"].notna() & permits["plate_type"].notna()]


def _reasons(table: pd.DataFrame, t: Thresholds) -> list[tuple[str, ...]]:
    """The fairness audit's reasons of each decision: the violations or points over the high-risk threshold, an
    unqualified driver (which rests on no matching qualification record: missing data)."""
    over = ((table["violations_30d"] >= t.high_risk_violations) | (table["points_30d"] >= t.high_risk_points)).to_numpy()
    unqualified = table["unqualified_driver"].astype(bool).to_numpy()
    combos = np.array([(), ("violations_over_threshold",), ("unqualified_driver",),
                       ("unqualified_driver", "violations_over_threshold")] + [None], dtype=object)[:-1]
    return combos[unqualified.astype(int) * 2 + over.astype(int)].tolist()


def narrow(permits: pd.DataFrame, day: date) -> dict:
    """The records that can matter to the permits' vehicles (see ``Scenario.narrow``): the violations of their plate
    numbers, and the qualifications of those violations' drivers."""
    return {"violation": ("plate_no", _in_service(permits)["plate_no"]),
            "practitioner_qualification": ("id_number", lambda frames: frames["violation"]["driver_id"])}


def core_sql(day: date, t: Thresholds) -> dict[str, str]:
    """The rule's set-based core, as SQL over the view's three reads: ``table`` the decisions, ``recent`` the
    window's violations of the vehicles in service, ``held`` the qualifications of the types their permits need
    held by those violations' drivers (covering the violation's day or not: the evidence either way)."""
    first = day - timedelta(days=t.vehicle_window_days - 1)
    scope = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in SCOPE_QUALIFICATION.items())
    same_vehicle = "{a}.plate_no = {b}.plate_no AND {a}.plate_type = {b}.plate_type"
    common = f"""
WITH permits AS (
  SELECT plate_no, plate_type, CASE scope {scope} END AS qualification_type FROM road_transport_permit
  WHERE status = {literal(IN_SERVICE)} AND plate_no IS NOT NULL AND plate_type IS NOT NULL
), vehicles AS (
  SELECT DISTINCT plate_no, plate_type FROM permits
), recent AS (
  SELECT v.violation_no, v.plate_no, v.plate_type, v.points, v.driver_id, v._valid_from,
         CAST(v.violation_time AS DATE) AS violation_day
  FROM violation AS v JOIN vehicles AS w ON {same_vehicle.format(a="v", b="w")}
  WHERE CAST(v.violation_time AS DATE) BETWEEN {literal(first)} AND {literal(day)}
), held AS (
  SELECT r.violation_no, r.plate_no, r.plate_type, r.violation_day, q.cert_no, q.id_number, q._valid_from,
         TRY_CAST(q.issue_date AS DATE) AS issued, TRY_CAST(q.valid_to AS DATE) AS expires
  FROM recent AS r
  JOIN permits AS p ON {same_vehicle.format(a="p", b="r")}
  JOIN practitioner_qualification AS q ON q.id_number = r.driver_id AND q.qualification_type = p.qualification_type
  WHERE q.status = 'valid'
)"""
    return {
        "table": common + f""", counts AS (
  SELECT plate_no, plate_type, COUNT(*) AS violations, CAST(COALESCE(SUM(points), 0) AS BIGINT) AS points
  FROM recent GROUP BY plate_no, plate_type
), unqualified AS (
  SELECT DISTINCT plate_no, plate_type FROM recent AS r
  WHERE r.driver_id IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM held AS h WHERE h.violation_no = r.violation_no
      AND (h.issued IS NULL OR h.issued <= h.violation_day) AND (h.expires IS NULL OR h.violation_day <= h.expires))
), decided AS (
  SELECT w.plate_no, w.plate_type, CAST(COALESCE(c.violations, 0) AS BIGINT) AS violations_30d,
         COALESCE(c.points, 0) AS points_30d, u.plate_no IS NOT NULL AS unqualified_driver
  FROM vehicles AS w
  LEFT JOIN counts AS c ON {same_vehicle.format(a="c", b="w")}
  LEFT JOIN unqualified AS u ON {same_vehicle.format(a="u", b="w")}
)
SELECT plate_no, plate_type, violations_30d, points_30d, unqualified_driver,
       CASE WHEN violations_30d >= {t.high_risk_violations} OR points_30d >= {t.high_risk_points} OR unqualified_driver
            THEN 'high' WHEN violations_30d >= 1 THEN 'medium' ELSE 'low' END AS risk
FROM decided""",
        "recent": common + "\nSELECT violation_no, plate_no, plate_type, driver_id, _valid_from FROM recent",
        "held": common + "\nSELECT DISTINCT cert_no, plate_no, plate_type, id_number, _valid_from FROM held",
    }


def decide(view: BaseView, day: date, t: Thresholds) -> Decisions:
    permits = _in_service(view["road_transport_permit"])
    core = view.query(core_sql(day, t), road_transport_permit=view["road_transport_permit"],
                      violation=view["violation"], practitioner_qualification=view["practitioner_qualification"])
    table = core["table"].sort_values(VEHICLE).reset_index(drop=True)
    table.insert(2, "as_of", day)
    recent, used_quals = core["recent"], core["held"]
    proof = [
        evidence(joined_id(permits, tuple(VEHICLE)), "permit", "road_transport_permit", permits, ("permit_no",),
                 person=permits["operator_id"].where(permits["operator_id_type"] == "A")),
        evidence(joined_id(recent, tuple(VEHICLE)), "violations_30d", "violation", recent, ("violation_no",),
                 person=recent["driver_id"]),
        evidence(joined_id(used_quals, tuple(VEHICLE)), "unqualified_driver", "practitioner_qualification", used_quals,
                 ("cert_no",), person=used_quals["id_number"]),
    ]
    return Decisions(table[["plate_no", "plate_type", "as_of", "violations_30d", "points_30d", "unqualified_driver",
                            "risk"]].astype({"violations_30d": "int64", "points_30d": "int64",
                                             "unqualified_driver": bool}), concat_evidence(proof))

SCENARIO = Scenario(
    name="commercial_vehicle_safety",
    title="营运车辆安全监管 — commercial-vehicle safety risk",
    purpose="commercial_vehicle_safety",
    legal_basis="《中华人民共和国道路运输条例》; 《道路运输从业人员管理规定》",
    consumer="transport",  # 吉林省交通运输厅
    reads={
        "road_transport_permit": ("permit_no", "plate_no", "plate_type", "scope", "status", "operator_id",
                                  "operator_id_type"),
        "violation": ("violation_no", "plate_no", "plate_type", "violation_time", "points", "driver_id"),
        "practitioner_qualification": ("cert_no", "id_number", "qualification_type", "issue_date", "valid_to",
                                       "status"),
    },
    decision_id=("plate_no", "plate_type"),
    decide=decide,
    # about the vehicle: high risk goes against its operator. An unqualified driver rests on no qualification
    # record matching: missing data, unlike violations
    fairness=Fairness(subject="vehicle", subject_key=tuple(VEHICLE), adverse=("high",),
                      missing_data=("unqualified_driver",), reasons=_reasons),
    units=("road_transport_permit", tuple(VEHICLE)),  # one decision per vehicle: its permits together
    narrow=narrow,
    column_lineage={"plate_no": ("road_transport_permit.plate_no",), "plate_type": ("road_transport_permit.plate_type",), "as_of": (), "violations_30d": ("violation.violation_no", "violation.violation_time", "violation.plate_no", "violation.plate_type"), "points_30d": ("violation.points", "violation.violation_time"), "unqualified_driver": ("violation.driver_id", "practitioner_qualification.qualification_type", "practitioner_qualification.status", "practitioner_qualification.valid_to", "road_transport_permit.scope")},
)
