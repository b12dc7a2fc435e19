"""The scenario rules as plain functions on small hand-built views of the base, one case per clause of DESIGN.md's
"Scenario rules", boundaries included (the sample-wide comparison is in ``test_scenarios_sample.py``)."""

from __future__ import annotations

import json
from datetime import date
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from stdnum.cn import ric

from jilin_pipelines.scenarios import BaseView, Thresholds, scenario

DAY = date(2025, 6, 10)
SH = ZoneInfo("Asia/Shanghai")
IDENTITY = ("traffic_police.driving_licences", "transport.practitioner_qualifications", "social_security.insured_persons")


def rid(birth: str, serial: str = "123") -> str:
    """A valid resident ID number of a Changchun person born on ``birth`` (YYYYMMDD)."""
    body = f"220102{birth}{serial}"
    return body + ric.calc_check_digit(body + "?")  # (python-stdnum drops the last character of its argument)


# valid USCCs (GB 32100 check character and the embedded GB 11714 organisation code's)
USCC = ("11220182661996466X", "122205037781G879X6", "9122030244H667U11J", "91220113C6758M5109")


def golden(table_rows: list[dict], **defaults) -> pd.DataFrame:
    frame = pd.DataFrame([{**defaults, **r} for r in table_rows])
    frame["placeholder"] = frame["placeholder"].eq(True) if "placeholder" in frame else False
    frame["_valid_from"] = date(2025, 6, 1)
    return frame


def versions(rows: list[dict], dataset: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["_dataset"] = dataset
    frame["_partition"] = date(2025, 6, 1)
    frame["_source_row"] = range(1, len(frame) + 1)
    frame["_source_sha256"] = "1" * 64
    return frame


def empty(*columns: str) -> pd.DataFrame:
    return golden([{c: None for c in columns}]).iloc[0:0]


def inputs(rows: list[dict], dataset: str) -> pd.DataFrame:
    return versions(rows, dataset)


# --- social assistance ----------------------------------------------------------------------------------------

APPLICANT, SPOUSE, CHILD = rid("19800101", "111"), rid("19820202", "222"), rid("20100303", "333")


def assistance(view_parts: dict, members=(APPLICANT, SPOUSE, CHILD), applicant=APPLICANT, applied="2025-06-08 10:00",
               known=(APPLICANT, SPOUSE, CHILD), t: Thresholds | None = None):
    s = scenario("social_assistance_verification")
    apps = inputs([{"application_id": "SA1", "applicant_id_number": applicant,
                    "household_id_numbers": json.dumps(list(members)),
                    "applied_at": pd.Timestamp(applied, tz=SH)}], "social_security.assistance_applications")
    frames = {
        "vehicle": empty("plate_no", "plate_type", "status_code", "use_code", "owner_id_type", "owner_id"),
        "road_transport_permit": empty("permit_no", "status", "operator_id"),
        "insured_person": empty("id_number", "insurance_type", "employer_no", "status", "contribution_base"),
        "benefit_payment": empty("id_number", "insurance_type", "period", "amount_yuan"),
        **{f"person@{ds}": versions([{"id_number": k} for k in known], ds) for ds in IDENTITY},
        **view_parts,
    }
    out = s.decide(BaseView(frames, apps), DAY, t or Thresholds())
    row = out.table.iloc[0]
    return row["decision"], json.loads(row["reasons"]), out.evidence


def test_a_household_whose_members_are_all_clean_is_eligible():
    assert assistance({})[:2] == ("eligible", [])


@pytest.mark.parametrize("status, use, plate_type, owner_type, flagged", [
    ("A", "A", "02", "A", True),
    ("A", "A", "07", "A", False),  # plate type 07 is not a private car
    ("A", "B", "02", "A", False),  # not a non-commercial use
    ("B", "A", "02", "A", False),  # not in normal status
    ("A", "A", "02", "B", False),  # owned by an organisation
])
def test_a_member_owning_a_private_vehicle(status, use, plate_type, owner_type, flagged):
    vehicles = golden([{"plate_no": "吉A12345", "plate_type": plate_type, "status_code": status, "use_code": use,
                        "owner_id_type": owner_type, "owner_id": CHILD}])
    decision, reasons, evidence = assistance({"vehicle": vehicles})
    assert (decision, reasons) == (("ineligible", ["owns_private_vehicle"]) if flagged else ("eligible", []))
    assert (evidence["used_for"] == "owns_private_vehicle").any() == flagged


def test_a_member_operating_a_transport_business_in_service():
    permits = golden([{"permit_no": "P1", "status": "营运", "operator_id": SPOUSE},
                      {"permit_no": "P2", "status": "注销", "operator_id": APPLICANT}])
    assert assistance({"road_transport_permit": permits})[:2] == ("ineligible", ["operates_transport_business"])


@pytest.mark.parametrize("base, status, flagged", [(2400.0, "1", False), (2400.01, "1", True), (9000.0, "2", False)])
def test_income_above_three_standards_counts_only_paying_rows(base, status, flagged):
    insured = golden([{"id_number": SPOUSE, "insurance_type": "110", "employer_no": "E1", "status": status,
                       "contribution_base": base}])
    assert assistance({"insured_person": insured})[1] == (["income_above_threshold"] if flagged else [])


def test_pensions_of_the_three_full_months_before_the_application_averaged():
    def pay(period, amount, kind="110"):
        return {"id_number": APPLICANT, "insurance_type": kind, "period": period, "amount_yuan": amount}

    months = [pay("202503", 800.0), pay("202504", 800.0), pay("202505", 801.0)]  # 2401 / 3 > 800
    assert assistance({"benefit_payment": golden(months)})[1] == ["pension_above_threshold"]
    exactly = [pay("202503", 800.0), pay("202504", 800.0), pay("202505", 800.0), pay("202506", 5000.0),
               pay("202502", 5000.0), pay("202504", 9000.0, kind="310")]  # June, February, not a pension: outside
    assert assistance({"benefit_payment": golden(exactly)})[1] == []


def test_an_unknown_or_invalid_member_needs_manual_review_but_a_hit_still_makes_it_ineligible():
    assert assistance({}, known=(APPLICANT, SPOUSE))[:2] == ("manual_review", ["identity_unverified"])
    broken = CHILD[:-1] + ("0" if CHILD[-1] != "0" else "1")
    assert assistance({}, members=(APPLICANT, broken))[:2] == ("manual_review", ["identity_unverified"])
    assert assistance({}, applicant=None, members=(APPLICANT,))[:2] == ("manual_review", ["identity_unverified"])
    permits = golden([{"permit_no": "P1", "status": "营运", "operator_id": APPLICANT}])
    assert assistance({"road_transport_permit": permits}, known=(APPLICANT,))[:2] == (
        "ineligible", ["identity_unverified", "operates_transport_business"])


def test_a_lower_standard_from_the_thresholds():
    insured = golden([{"id_number": SPOUSE, "insurance_type": "110", "employer_no": "E1", "status": "1",
                       "contribution_base": 2000.0}])
    assert assistance({"insured_person": insured}, t=Thresholds(assistance_standard_yuan=600))[1] == [
        "income_above_threshold"]


# --- certificate verification ---------------------------------------------------------------------------------

HOLDER = rid("19900505", "555")


def verify_certificates(requests: list[dict], certificates: list[dict]) -> list[str]:
    s = scenario("certificate_verification")
    base = {"holder_id": HOLDER, "holder_id_type": "A", "holder_name": "张三", "valid_to": date(2030, 1, 1),
            "status": "valid"}
    certs = golden(certificates, **base) if certificates else empty("cert_type", "cert_no", *base)
    reqs = inputs([{"request_id": f"R{i:02d}", "cert_type": "driving_licence", "holder_id": HOLDER, "holder_id_type": "A",
                    "holder_name": "张三", "requested_at": pd.Timestamp("2025-06-10 09:00", tz=SH), **r}
                   for i, r in enumerate(requests)], "jishiban.verification_requests")
    out = s.decide(BaseView({"certificate": certs}, reqs), DAY, Thresholds())
    return out.table.sort_values("request_id")["result"].tolist()


def test_certificate_results_first_match_wins():
    certs = [
        {"cert_type": "driving_licence", "cert_no": "C-valid"},
        {"cert_type": "driving_licence", "cert_no": "C-revoked", "status": "revoked"},
        {"cert_type": "driving_licence", "cert_no": "C-dereg", "status": "deregistered"},
        {"cert_type": "driving_licence", "cert_no": "C-susp", "status": "suspended"},
        {"cert_type": "driving_licence", "cert_no": "C-exp", "status": "expired"},
        {"cert_type": "driving_licence", "cert_no": "C-lapsed", "valid_to": date(2025, 6, 9)},
        {"cert_type": "driving_licence", "cert_no": "C-today", "valid_to": date(2025, 6, 10)},
        {"cert_type": "construction_permit", "cert_no": "C-done", "status": "completed", "valid_to": None},
    ]
    requests = [
        {"cert_no": "C-valid"}, {"cert_no": "C-revoked"}, {"cert_no": "C-dereg"}, {"cert_no": "C-susp"},
        {"cert_no": "C-exp"}, {"cert_no": "C-lapsed"}, {"cert_no": "C-today"},
        {"cert_no": "C-done", "cert_type": "construction_permit"},
        {"cert_no": "C-forged"},  # no such certificate
        {"cert_no": "C-valid", "cert_type": "practitioner_qualification"},  # the number, but of another type
        {"cert_no": "C-revoked", "holder_name": "李四"},  # someone else's revoked licence: holder first
        {"cert_no": "C-valid", "holder_id": rid("19900505", "556")},
        {"cert_no": "C-valid", "holder_name": " 张\u3000三 ", "holder_id": HOLDER.lower()},  # same after normalising
    ]
    assert verify_certificates(requests, certs) == [
        "valid", "revoked", "revoked", "suspended", "expired", "expired", "valid", "valid", "not_found", "not_found",
        "holder_mismatch", "holder_mismatch", "valid",
    ]


# --- commercial vehicles --------------------------------------------------------------------------------------

DRIVER = rid("19850707", "777")


def vehicle_risk(violations: list[dict], qualifications: list[dict], scope: str = "道路普通货物运输",
                 t: Thresholds | None = None) -> dict:
    s = scenario("commercial_vehicle_safety")
    permits = golden([{"permit_no": "P1", "plate_no": "吉A00001", "plate_type": "01", "scope": scope, "status": "营运",
                       "operator_id": USCC[0], "operator_id_type": "B"},
                      {"permit_no": "P2", "plate_no": "吉A00002", "plate_type": "01", "scope": scope, "status": "注销",
                       "operator_id": USCC[0], "operator_id_type": "B"}])
    viol = golden([{"violation_no": f"V{i}", "plate_no": "吉A00001", "plate_type": "01", "points": 0,
                    "driver_id": DRIVER, **v} for i, v in enumerate(violations)]) if violations else empty(
        "violation_no", "plate_no", "plate_type", "violation_time", "points", "driver_id")
    viol["violation_time"] = pd.to_datetime(viol["violation_time"]).dt.tz_localize(SH)
    quals = golden([{"cert_no": f"Q{i}", "id_number": DRIVER, "qualification_type": "freight_driver",
                     "issue_date": date(2020, 1, 1), "valid_to": date(2030, 1, 1), "status": "valid", **q}
                    for i, q in enumerate(qualifications)]) if qualifications else empty(
        "cert_no", "id_number", "qualification_type", "issue_date", "valid_to", "status")
    out = s.decide(BaseView({"road_transport_permit": permits, "violation": viol, "practitioner_qualification": quals}),
                   DAY, t or Thresholds())
    assert out.table["plate_no"].tolist() == ["吉A00001"]  # only the vehicle in service
    return out.table.iloc[0][["violations_30d", "points_30d", "unqualified_driver", "risk"]].to_dict()


def test_the_thirty_day_window_and_the_risk_levels():
    qualified = [{}]
    assert vehicle_risk([], qualified) == {"violations_30d": 0, "points_30d": 0, "unqualified_driver": False,
                                           "risk": "low"}
    edge = [{"violation_time": "2025-05-12 08:00"}, {"violation_time": "2025-05-11 23:59", "points": 12},
            {"violation_time": "2025-06-11 00:01", "points": 12}]  # D-29 counts; D-30 and after D do not
    assert vehicle_risk(edge, qualified)["violations_30d"] == 1 and vehicle_risk(edge, qualified)["risk"] == "medium"
    three = [{"violation_time": f"2025-06-0{d} 08:00"} for d in (1, 2, 3)]
    assert vehicle_risk(three, qualified)["risk"] == "high"
    points = [{"violation_time": "2025-06-01 08:00", "points": 6}, {"violation_time": "2025-06-02 08:00", "points": 6}]
    assert vehicle_risk(points, qualified) == {"violations_30d": 2, "points_30d": 12, "unqualified_driver": False,
                                               "risk": "high"}
    assert vehicle_risk(points, qualified, t=Thresholds(high_risk_points=13))["risk"] == "medium"


@pytest.mark.parametrize("qualification, unqualified", [
    ({}, False),
    (None, True),  # none at all
    ({"qualification_type": "taxi_driver"}, True),  # of the wrong type for the permit's scope
    ({"valid_to": date(2025, 6, 1)}, True),  # expired before the violation's day
    ({"issue_date": date(2025, 6, 6)}, True),  # issued after it
    ({"status": "revoked"}, True),
])
def test_a_driver_without_a_qualification_valid_on_the_day_for_the_scope(qualification, unqualified):
    got = vehicle_risk([{"violation_time": "2025-06-05 08:00"}], [] if qualification is None else [qualification])
    assert got["unqualified_driver"] == unqualified
    assert got["risk"] == ("high" if unqualified else "medium")


# --- budget ---------------------------------------------------------------------------------------------------


def test_budget_counts_paying_persons_of_organs_and_institutions():
    s = scenario("budget_staff_basic_info")
    organ, institution, company = USCC[:3]
    employers = golden([{"employer_no": "E10", "uscc": organ, "employer_type": "10"},
                        {"employer_no": "E30", "uscc": institution, "employer_type": "30"},
                        {"employer_no": "E50", "uscc": company, "employer_type": "50"}])
    a, b, c = rid("19700101", "001"), rid("19710101", "002"), rid("19720101", "003")

    def row(person, kind, employer, status="1", base=5000.0):
        return {"id_number": person, "insurance_type": kind, "employer_no": employer, "status": status,
                "contribution_base": base}

    insured = golden([row(a, "110", "E10"), row(a, "210", "E10"), row(b, "120", "E10", base=3000.0),
                      row(c, "110", "E10", status="2"), row(a[:-1] + "0" if a[-1] != "0" else a[:-1] + "1", "110", "E10"),
                      row(c, "110", "E30"), row(b, "110", "E50")])
    out = s.decide(BaseView({"employer": employers, "insured_person": insured}), DAY, Thresholds()).table
    got = out.set_index("employer_uscc")
    assert list(got.index) == sorted([organ, institution])  # the enterprise is not in the budget
    assert got.loc[organ, "pension_headcount"] == 2  # a and b; c stopped paying; the broken ID counts nowhere
    assert json.loads(got.loc[organ, "headcount_by_insurance"]) == {"110": 1, "120": 1, "210": 1}
    assert got.loc[organ, "contribution_base_total"] == 8000.0
    assert got.loc[institution, "pension_headcount"] == 1


# --- social-security approval -------------------------------------------------------------------------------


def test_approval_flags():
    s = scenario("social_security_approval")
    good, other = rid("19900101", "010"), rid("19910101", "020")
    employers = golden([{"employer_no": "E1", "uscc": USCC[0]},
                        {"employer_no": "E2", "uscc": USCC[1][:-1] + "0"},  # a USCC that fails its check
                        {"employer_no": "E3", "uscc": None, "placeholder": True}])  # only ever referenced
    insured_asof = golden([{"id_number": other, "insurance_type": "110", "employer_no": "E9", "status": "1"},
                           {"id_number": good, "insurance_type": "110", "employer_no": "E1", "status": "1"}])
    names = {ds: versions([{"id_number": good, "name": "张三"}], ds) for ds in
             ("traffic_police.driving_licences", "transport.practitioner_qualifications")}
    rows = inputs([
        {"id_number": good, "insurance_type": "110", "employer_no": "E1", "name": "张三", "birth_date": date(1990, 1, 1)},
        {"id_number": good, "insurance_type": "110", "employer_no": "E1", "name": "张 三", "birth_date": date(1990, 1, 1)},
        {"id_number": good, "insurance_type": "110", "employer_no": "E1", "name": "张山", "birth_date": date(1990, 1, 2)},
        {"id_number": None, "insurance_type": "110", "employer_no": "E1", "name": "王五", "birth_date": date(1990, 1, 1)},
        {"id_number": other, "insurance_type": "110", "employer_no": "E1", "name": "赵六", "birth_date": date(1991, 1, 1)},
        {"id_number": good, "insurance_type": "210", "employer_no": "E2", "name": "张三", "birth_date": date(1990, 1, 1)},
        {"id_number": good, "insurance_type": "210", "employer_no": "E3", "name": "张三", "birth_date": date(1990, 1, 1)},
    ], "social_security.insured_persons")
    view = BaseView({"insured_person": insured_asof, "employer": employers,
                     **{f"person@{ds}": v for ds, v in names.items()}}, rows)
    out = s.decide(view, DAY, Thresholds()).table
    reasons = [json.loads(r) for r in out["reasons"]]
    assert reasons == [
        [], [], ["birth_date_mismatch", "name_mismatch"], ["invalid_id"], ["duplicate_enrollment"],
        ["employer_invalid"], ["employer_invalid"],
    ]
    assert out["decision"].tolist() == ["approved", "approved"] + ["rejected"] * 5


def test_decisions_are_reproducible_on_the_same_view():
    permits = golden([{"permit_no": "P1", "status": "营运", "operator_id": SPOUSE}])
    first, second = assistance({"road_transport_permit": permits}), assistance({"road_transport_permit": permits})
    assert first[:2] == second[:2]
    pd.testing.assert_frame_equal(first[2], second[2])
