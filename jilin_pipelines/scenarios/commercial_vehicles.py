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
    BaseView,
    Decisions,
    Fairness,
    Scenario,
    Thresholds,
    concat_evidence,
    evidence,
    joined_id,
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


def decide(view: BaseView, day: date, t: Thresholds) -> Decisions:
    permits = _in_service(view["road_transport_permit"])
    vehicles = permits[VEHICLE].drop_duplicates().sort_values(VEHICLE).reset_index(drop=True)

    first = day - timedelta(days=t.vehicle_window_days - 1)
    violations = view["violation"]
    when = violations["violation_time"].dt.date
    recent = violations[(when >= first) & (when <= day)].merge(vehicles, on=VEHICLE)
    recent["violation_day"] = recent["violation_time"].dt.date
    counts = recent.groupby(VEHICLE).agg(violations_30d=("violation_no", "size"), points_30d=("points", "sum"))

    # a driver is qualified for a violation when a valid qualification of a type the vehicle's permits need
    # covers the violation's day
    need = permits[VEHICLE + ["scope"]].assign(qualification_type=permits["scope"].map(SCOPE_QUALIFICATION))
    quals = view["practitioner_qualification"]
    quals = quals[quals["status"] == "valid"]
    drivers = recent[recent["driver_id"].notna()][["violation_no", "driver_id", "violation_day", *VEHICLE]]
    held = drivers.merge(need[VEHICLE + ["qualification_type"]], on=VEHICLE).merge(
        quals, left_on=["driver_id", "qualification_type"], right_on=["id_number", "qualification_type"])
    issued = pd.to_datetime(held["issue_date"], errors="coerce").dt.date
    expires = pd.to_datetime(held["valid_to"], errors="coerce").dt.date
    covering = held[(issued.isna() | (issued <= held["violation_day"])) & (expires.isna() | (held["violation_day"] <= expires))]
    unqualified = drivers[~drivers["violation_no"].isin(covering["violation_no"])]
    flagged = unqualified[VEHICLE].drop_duplicates().assign(unqualified_driver=True)

    table = vehicles.join(counts, on=VEHICLE).merge(flagged, on=VEHICLE, how="left")
    table["violations_30d"] = pd.to_numeric(table["violations_30d"]).fillna(0).astype("int64")
    table["points_30d"] = pd.to_numeric(table["points_30d"]).fillna(0).astype("int64")
    table["unqualified_driver"] = table["unqualified_driver"].eq(True)
    high = ((table["violations_30d"] >= t.high_risk_violations) | (table["points_30d"] >= t.high_risk_points)
            | table["unqualified_driver"])
    table["risk"] = np.select([high, table["violations_30d"] >= 1], ["high", "medium"], default="low")
    table.insert(2, "as_of", day)

    in_service = permits.merge(vehicles, on=VEHICLE)
    used_quals = held.drop_duplicates(["cert_no"] + VEHICLE)
    proof = [
        evidence(joined_id(in_service, tuple(VEHICLE)), "permit", "road_transport_permit", in_service, ("permit_no",),
                 person=in_service["operator_id"].where(in_service["operator_id_type"] == "A")),
        evidence(joined_id(recent, tuple(VEHICLE)), "violations_30d", "violation", recent, ("violation_no",),
                 person=recent["driver_id"]),
        evidence(joined_id(used_quals, tuple(VEHICLE)), "unqualified_driver", "practitioner_qualification", used_quals,
                 ("cert_no",), person=used_quals["id_number"]),
    ]
    return Decisions(table[["plate_no", "plate_type", "as_of", "violations_30d", "points_30d", "unqualified_driver",
                            "risk"]], concat_evidence(proof))


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
    output="commercial_vehicle_risk",
    output_key=("plate_no", "plate_type", "as_of"),
    decision_id=("plate_no", "plate_type"),
    decide=decide,
    # about the vehicle: high risk goes against its operator. An unqualified driver rests on no qualification
    # record matching: missing data, unlike violations
    fairness=Fairness(subject="vehicle", subject_key=tuple(VEHICLE), adverse=("high",),
                      missing_data=("unqualified_driver",), reasons=_reasons),
    units=("road_transport_permit", tuple(VEHICLE)),  # one decision per vehicle: its permits together
    narrow=narrow,
    columns={
        "plate_no": "the commercial vehicle (a road transport permit in service, 营运, as of the day): plate number",
        "plate_type": "its plate type (GA 24.7)",
        "violations_30d": "its violations (matched on plate number and type) in the 30 days D-29 … D",
        "points_30d": "the points of those violations",
        "unqualified_driver": "a violation's driver holds no practitioner qualification that is valid on the "
                              "violation's day and matches the permit's scope",
        "risk": "high: 3 or more violations, 12 or more points, or an unqualified driver; medium: at least one "
                "violation; low: none",
    },
    column_lineage={"plate_no": ("road_transport_permit.plate_no",), "plate_type": ("road_transport_permit.plate_type",), "as_of": (), "violations_30d": ("violation.violation_no", "violation.violation_time", "violation.plate_no", "violation.plate_type"), "points_30d": ("violation.points", "violation.violation_time"), "unqualified_driver": ("violation.driver_id", "practitioner_qualification.qualification_type", "practitioner_qualification.status", "practitioner_qualification.valid_to", "road_transport_permit.scope")},
)
