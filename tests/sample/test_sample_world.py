"""The world behind the sample is coherent and exercises every scenario rule of DESIGN.md.

Everything is computed here from the clean ground truth (what a perfect standardisation gives) with the tests'
own simple implementation of the rules, then compared with what the generator says it designed."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest
from sample_spec import jilin_codes
from stdnum.cn import ric, uscc

STANDARD = 800


def _as_of(clean: pd.DataFrame, keys: list[str], day: str, time_col: str | None = None) -> pd.DataFrame:
    """For every key, the newest version delivered on or before ``day``."""
    rows = clean[clean["day"] <= day]
    order = ["day", time_col, "source_row"] if time_col else ["day", "source_row"]
    return rows.sort_values(order, kind="stable").drop_duplicates(keys, keep="last")


def _birth(id_number: str) -> str:
    return f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}"


def test_employers_of_every_type(sample):
    assert set(sample.clean["social_security.employers"]["AAB019"]) == {"10", "30", "50", "70", "90"}
    assert all(uscc.is_valid(x) for x in sample.clean["social_security.employers"]["AAB003"])


def test_people_with_ids_under_retired_codes(sample):
    in_force = {c for c, cur in jilin_codes().items() if cur}
    ids = pd.concat([sample.clean["traffic_police.driving_licences"]["sfzmhm"], sample.clean["social_security.insured_persons"]["AAC002"]])
    retired = {x for x in ids if x[:6] not in in_force}
    assert len(retired) >= 10
    assert all(ric.is_valid(x) for x in retired)
    assert any(x.startswith("220381") and int(x[6:10]) < 2020 for x in ids)


def test_names_birth_dates_and_sex_agree_across_departments(sample):
    lic = sample.clean["traffic_police.driving_licences"]
    assert (lic["csrq"] == lic["sfzmhm"].map(_birth)).all()
    assert (lic["xb"] == lic["sfzmhm"].map(lambda x: "1" if int(x[16]) % 2 else "2")).all()
    names = dict(zip(lic["sfzmhm"], lic["xm"], strict=True))
    qual = sample.clean["transport.practitioner_qualifications"]
    assert all(names.get(i, n) == n for i, n in zip(qual["idNumber"], qual["name"], strict=True))
    veh = sample.clean["traffic_police.motor_vehicles"]
    persons = veh[veh["所有人证件类型"] == "A"]
    assert all(names.get(i, n) == n for i, n in zip(persons["所有人证件号码"], persons["所有人名称"], strict=True))
    ins = sample.clean["social_security.insured_persons"].copy()
    incons = sample.world("inconsistencies")
    listed = incons[incons["dataset"] == "social_security.insured_persons"]
    name_rows = listed[listed["kind"] == "name_mismatch"]
    birth_rows = listed[listed["kind"] == "birth_date_mismatch"]
    listed_name = set(zip(name_rows["day"], name_rows["source_row"], strict=True))
    listed_birth = set(zip(birth_rows["day"], birth_rows["source_row"], strict=True))
    ins["key"] = list(zip(ins["day"], ins["source_row"], strict=True))
    other_name = ins.apply(lambda r: names.get(r["AAC002"], r["AAC003"]) != r["AAC003"], axis=1)
    assert set(ins.loc[other_name, "key"]) <= listed_name
    assert other_name.sum() >= 1
    wrong_birth = ins["AAC006"] != ins["AAC002"].map(_birth)
    assert set(ins.loc[wrong_birth, "key"]) == listed_birth and len(listed_birth) >= 2


def test_links_between_datasets(sample):
    veh = sample.clean["traffic_police.motor_vehicles"]
    plates = set(zip(veh["号牌号码"], veh["号牌种类"], strict=True))
    vio = sample.clean["traffic_police.violations"]
    assert set(zip(vio["号牌号码"], vio["号牌种类"], strict=True)) <= plates
    permits = sample.clean["transport.road_transport_permits"]
    assert all((p, t) in plates for p, t in zip(permits["车辆号牌"], permits["号牌种类"], strict=True))
    first_owner = veh.sort_values(["day", "source_row"]).drop_duplicates(["号牌号码", "号牌种类"])
    first_owner = dict(zip(zip(first_owner["号牌号码"], first_owner["号牌种类"], strict=True), first_owner["所有人证件号码"], strict=True))
    assert all(first_owner[(p, t)] == o for p, t, o in zip(permits["车辆号牌"], permits["号牌种类"], permits["业户证件号码"], strict=True))
    cp = sample.clean["municipal.construction_permits"]
    assert (cp["PermitNo"].str[:6] == cp["CivilCode"]).all()
    assert (cp["PermitNo"].str[6:14] == cp["IssueDate"].str.replace("-", "")).all()
    assert set(cp["Status"]) == {"valid", "suspended", "revoked", "completed"}
    video = sample.clean["traffic_police.video_points"]
    in_force = {c for c, cur in jilin_codes().items() if cur}
    assert video["DeviceID"].str.fullmatch(r"\d{20}").all() and video["DeviceID"].str[:6].isin(in_force).all()
    apps = sample.clean["social_security.assistance_applications"]
    members = apps["householdIdNumbers"].map(json.loads)
    assert members.map(len).between(1, 5).all() and set(members.map(len)) == {1, 2, 3, 4, 5}
    assert (members.map(lambda m: m[0]) == apps["applicantIdNumber"]).all()
    assert {"A", "B"} == set(veh["所有人证件类型"])


def test_changes_come_again_with_a_newer_update_time(sample):
    for name, key, upd in (("traffic_police.motor_vehicles", ["号牌号码", "号牌种类"], "更新时间"),
                           ("traffic_police.driving_licences", ["sfzmhm"], "gxsj"),
                           ("transport.road_transport_permits", ["道路运输证号"], "更新时间"),
                           ("social_security.insured_persons", ["AAC002", "AAE140", "AAB001"], "AAE036"),
                           ("municipal.construction_permits", ["PermitNo"], "UpdateTime")):
        clean = sample.clean[name]
        first = clean[clean["day"] == "2025-06-02"]
        later = clean[clean["day"] > "2025-06-02"].merge(first, on=key, suffixes=("", "_0"))
        value_cols = [c for c in clean.columns if c not in (*key, upd, "day", "source_row")]
        changed = later[(later[value_cols].fillna("") != later[[c + "_0" for c in value_cols]].fillna("").to_numpy()).any(axis=1)]
        assert len(changed) >= 3, name
        assert (changed[upd] > changed[upd + "_0"]).all(), name


def test_duplicate_enrolments(sample):
    ins = sample.clean["social_security.insured_persons"]
    paying = ins[ins["AAC008"] == "1"].drop_duplicates(["AAC002", "AAE140", "AAB001"])
    twice = paying.groupby(["AAC002", "AAE140"])["AAB001"].nunique()
    assert (twice >= 2).sum() >= 2


def test_pension_payments_of_the_three_months_before(sample):
    ben = sample.clean["social_security.benefit_payments"]
    first = ben[ben["day"] == "2025-06-02"]
    assert {"202503", "202504", "202505"} <= set(first["AAE002"])
    assert set(ben["AAE140"]) <= {"110", "120"} and set(ben["AAE140"]) == {"110", "120"}
    per_person = first[first["AAE002"].isin(["202503", "202504", "202505"])].groupby("AAC002")["AAE002"].nunique()
    assert (per_person == 3).all()


def _flags(sample) -> pd.DataFrame:
    """DESIGN.md's social assistance flags for every delivered application, from the clean truth."""
    c = sample.clean
    out = []
    apps = c["social_security.assistance_applications"].drop_duplicates("applicationId")
    for day in sorted(apps["day"].unique()):
        veh = _as_of(c["traffic_police.motor_vehicles"], ["号牌号码", "号牌种类"], day, "更新时间")
        private = set(veh[(veh["机动车状态"] == "A") & (veh["使用性质"] == "A") & (veh["号牌种类"] != "07")
                          & (veh["所有人证件类型"] == "A")]["所有人证件号码"])
        per = _as_of(c["transport.road_transport_permits"], ["道路运输证号"], day, "更新时间")
        operators = set(per[per["证件状态"] == "营运"]["业户证件号码"])
        ins = _as_of(c["social_security.insured_persons"], ["AAC002", "AAE140", "AAB001"], day, "AAE036")
        high = set(ins[(ins["AAC008"] == "1") & (ins["AAE180"].astype(float) > 3 * STANDARD)]["AAC002"])
        known = set(c["traffic_police.driving_licences"].query("day <= @day")["sfzmhm"]) | set(
            ins["AAC002"]) | set(c["transport.practitioner_qualifications"].query("day <= @day")["idNumber"])
        ben = _as_of(c["social_security.benefit_payments"], ["AAC002", "AAE140", "AAE002"], day, "AAE036")
        for app in apps[apps["day"] == day].to_dict("records"):
            applied = date.fromisoformat(app["appliedAt"][:10])
            months = [str(pd.Period(applied, "M") - k).replace("-", "") for k in (1, 2, 3)]
            paid = ben[ben["AAE002"].isin(months) & ben["AAE140"].isin(["110", "120"])]
            pension = paid.groupby("AAC002")["AAE019"].apply(lambda s: s.astype(float).sum() / 3)
            members = json.loads(app["householdIdNumbers"])
            flags = set()
            for m in members:
                if m in private:
                    flags.add("owns_private_vehicle")
                if m in operators:
                    flags.add("operates_transport_business")
                if m in high:
                    flags.add("income_above_threshold")
                if pension.get(m, 0) > STANDARD:
                    flags.add("pension_above_threshold")
                if m not in known or not ric.is_valid(m):
                    flags.add("identity_unverified")
            out.append({"applicationId": app["applicationId"], "flags": flags})
    return pd.DataFrame(out)


def test_every_assistance_flag_occurs_as_designed(sample):
    flags = _flags(sample)
    counts = {f: sum(f in x for x in flags["flags"]) for f in ("owns_private_vehicle", "operates_transport_business",
                                                               "income_above_threshold", "pension_above_threshold",
                                                               "identity_unverified")}
    assert all(v >= 3 for v in counts.values()), counts
    assert sum(not x for x in flags["flags"]) >= 3  # eligible households
    design = sample.world("households").set_index("applicationId")["design"]
    agree = 0
    for rec in flags.to_dict("records"):
        want = set() if design[rec["applicationId"]] == "eligible" else set(design[rec["applicationId"]].split("+"))
        agree += rec["flags"] == want
    assert agree >= 0.95 * len(flags), (agree, len(flags))


def test_thresholds_are_tried_at_their_edge(sample):
    """Household members paying on a base of exactly 3 x the standard, or drawing exactly the standard as a
    pension: neither is "above"."""
    c = sample.clean
    members = {m for x in c["social_security.assistance_applications"]["householdIdNumbers"] for m in json.loads(x)}
    ins = c["social_security.insured_persons"]
    at_base = ins[(ins["AAC008"] == "1") & (ins["AAE180"] == str(3 * STANDARD)) & ins["AAC002"].isin(members)]
    ben = c["social_security.benefit_payments"]
    at_pension = ben[(ben["AAE019"] == str(STANDARD)) & ben["AAC002"].isin(members)]
    small_pension = ben[(ben["AAE019"].astype(float) <= STANDARD) & ben["AAC002"].isin(members)]
    assert len(at_base) >= 1 and len(small_pension) >= 3 and len(at_pension) + len(at_base) >= 2


def _verification_results(sample) -> pd.DataFrame:
    c = sample.clean
    req = c["jishiban.verification_requests"].drop_duplicates("requestId")
    out = []
    for day in sorted(req["day"].unique()):
        certs = {}
        lic = _as_of(c["traffic_police.driving_licences"], ["sfzmhm"], day, "gxsj")
        for r in lic.to_dict("records"):
            state = {"E": "revoked", "G": "suspended", "B": "expired"}.get(r["zt"]) or ("expired" if r["yxqz"] < day else "valid")
            certs[("driving_licence", r["sfzmhm"])] = (r["sfzmhm"], r["xm"], state)
        per = _as_of(c["transport.road_transport_permits"], ["道路运输证号"], day, "更新时间")
        for r in per.to_dict("records"):
            state = "revoked" if r["证件状态"] in ("注销", "吊销") else "expired" if r["有效期至"] < day else "valid"
            certs[("road_transport_permit", r["道路运输证号"])] = (r["业户证件号码"], r["业户名称"], state)
        qual = _as_of(c["transport.practitioner_qualifications"], ["certNo"], day, "updatedAt")
        for r in qual.to_dict("records"):
            state = "revoked" if r["status"] == "revoked" else "expired" if r["validTo"] < day else "valid"
            certs[("practitioner_qualification", r["certNo"])] = (r["idNumber"], r["name"], state)
        cp = _as_of(c["municipal.construction_permits"], ["PermitNo"], day, "UpdateTime")
        for r in cp.to_dict("records"):
            state = {"revoked": "revoked", "suspended": "suspended"}.get(r["Status"], "valid")
            certs[("construction_permit", r["PermitNo"])] = (r["BuilderUSCC"], r["BuilderName"], state)
        for r in req[req["day"] == day].to_dict("records"):
            cert = certs.get((r["certType"], r["certNo"]))
            if cert is None:
                result = "not_found"
            elif cert[0] != r["holderId"] or cert[1] != r["holderName"]:
                result = "holder_mismatch"
            else:
                result = cert[2]
            out.append({"requestId": r["requestId"], "certType": r["certType"], "result": result})
    return pd.DataFrame(out)


def test_verification_requests_cover_every_outcome(sample):
    got = _verification_results(sample)
    combos = set(zip(got["certType"], got["result"], strict=True))
    for cert_type, outcomes in (
        ("driving_licence", {"valid", "expired", "suspended", "revoked", "holder_mismatch", "not_found"}),
        ("road_transport_permit", {"valid", "expired", "revoked", "holder_mismatch", "not_found"}),
        ("practitioner_qualification", {"valid", "expired", "revoked", "holder_mismatch", "not_found"}),
        ("construction_permit", {"valid", "suspended", "revoked", "holder_mismatch", "not_found"}),
    ):
        assert {(cert_type, o) for o in outcomes} <= combos, cert_type
    intended = sample.world("verification_requests").set_index("requestId")["intended_result"]
    agree = (got.set_index("requestId")["result"] == intended.reindex(got["requestId"]).to_numpy()).mean()
    assert agree >= 0.95, agree


def test_commercial_vehicles_have_unqualified_drivers(sample):
    c = sample.clean
    last = sample.days[-1].isoformat()
    per = _as_of(c["transport.road_transport_permits"], ["道路运输证号"], last, "更新时间")
    operating = per[per["证件状态"] == "营运"]
    need = {"道路旅客运输": "passenger_driver", "道路普通货物运输": "freight_driver", "危险货物运输": "dangerous_goods_driver",
            "出租客运": "taxi_driver"}
    scope = {(p, t): need[s] for p, t, s in zip(operating["车辆号牌"], operating["号牌种类"], operating["经营范围"], strict=True)}
    vio = c["traffic_police.violations"].drop_duplicates("违法编号", keep="last")
    vio = vio[vio["当事人证件号码"].notna()]
    qual = _as_of(c["transport.practitioner_qualifications"], ["certNo"], last, "updatedAt")
    good = {(i, t) for i, t, s, v in zip(qual["idNumber"], qual["qualificationType"], qual["status"], qual["validTo"], strict=True)
            if s == "valid" and v >= last}
    qualified = unqualified = 0
    for plate, ptype, driver in zip(vio["号牌号码"], vio["号牌种类"], vio["当事人证件号码"], strict=True):
        if (plate, ptype) in scope:
            if (driver, scope[(plate, ptype)]) in good:
                qualified += 1
            else:
                unqualified += 1
    assert qualified >= 10 and unqualified >= 3, (qualified, unqualified)


@pytest.mark.parametrize("name", ["persons", "entities", "households", "household_members", "pensions", "vehicle_drivers",
                                  "certificates_final", "verification_requests", "inconsistencies"])
def test_world_tables_are_written(sample, name):
    assert len(sample.world(name)) > 0
