"""The scenario rules of DESIGN.md written out a second time, independently of the pipeline, over the generator's
ground truth: the clean records it delivered (``_ground_truth/clean``, source column names, true values) and the
defects it put into them (``manifest.jsonl``).

What the platform can know is what survives delivery: a record with an unrepairable defect is quarantined (it is
not there), except rows of scenario inputs (applications, insured rows, requests), which stay but carry their
defective value — an ID that cannot be read names nobody. Decisions that rest on an input row whose deciding field
was damaged beyond repair (an insurance type out of its code list, an absurd contribution base) cannot be known
from the truth and are reported as ``uncertain`` rather than guessed.

No code of ``jilin_pipelines`` is used here but the generator's files.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path

import pandas as pd

INPUTS = {"social_security.assistance_applications", "social_security.insured_persons", "jishiban.verification_requests"}
KEYS = {
    "traffic_police.driving_licences": (["sfzmhm"], "gxsj"),
    "traffic_police.motor_vehicles": (["号牌号码", "号牌种类"], "更新时间"),
    "traffic_police.violations": (["违法编号"], None),
    "transport.road_transport_permits": (["道路运输证号"], "更新时间"),
    "transport.practitioner_qualifications": (["certNo"], "updatedAt"),
    "social_security.employers": (["AAB001"], "AAE036"),
    "social_security.insured_persons": (["AAC002", "AAE140", "AAB001"], "AAE036"),
    "social_security.benefit_payments": (["AAC002", "AAE140", "AAE002"], "AAE036"),
    "municipal.construction_permits": (["PermitNo"], "UpdateTime"),
}


class Truth:
    def __init__(self, sample_dir: Path):
        self.root = sample_dir / "_ground_truth"

    @cached_property
    def manifest(self) -> pd.DataFrame:
        lines = (self.root / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
        m = pd.DataFrame([json.loads(x) for x in lines if x.strip()])
        return m[m["source_row"].notna()].astype({"source_row": "int64"})

    def defects(self, dataset: str) -> pd.DataFrame:
        """Unrepairable defects of a dataset: day, source_row, field."""
        m = self.manifest
        return m[(m["dataset"] == dataset) & ~m["repairable"].astype(bool)][["day", "source_row", "field", "problem"]]

    def world(self, name: str) -> pd.DataFrame:
        return pd.read_parquet(self.root / "world" / f"{name}.parquet")

    def delivered(self, dataset: str) -> pd.DataFrame:
        """The clean rows the platform keeps: without quarantined rows, except for scenario inputs, which get a
        ``defects`` column (the set of fields damaged beyond repair)."""
        frame = pd.read_parquet(self.root / "clean" / f"{dataset}.parquet")
        bad = self.defects(dataset)
        per_row = bad.groupby(["day", "source_row"])["field"].agg(lambda f: frozenset(f))
        frame = frame.join(per_row.rename("defects"), on=["day", "source_row"])
        frame["defects"] = frame["defects"].map(lambda d: d if isinstance(d, frozenset) else frozenset())
        copies = self.manifest[(self.manifest["dataset"] == dataset) & (self.manifest["problem"] == "duplicate_in_file")]
        frame = frame[~pd.MultiIndex.from_frame(frame[["day", "source_row"]]).isin(
            pd.MultiIndex.from_frame(copies[["day", "source_row"]]))]  # an exact copy in the file counts once
        if dataset not in INPUTS:
            frame = frame[frame["defects"].map(len) == 0]
        return frame

    def as_of(self, dataset: str, day: date) -> pd.DataFrame:
        """Per key the newest row delivered on or before ``day``."""
        key, updated = KEYS[dataset]
        frame = self.delivered(dataset)
        frame = frame[frame["day"] <= day.isoformat()]
        order = ([updated] if updated else []) + ["day", "source_row"]
        return frame.sort_values(order).drop_duplicates(key, keep="last")


def _months_before(applied: str, n: int) -> list[str]:
    first = pd.Timestamp(applied).to_period("M")
    return [(first - k).strftime("%Y%m") for k in range(1, n + 1)]


def social_assistance(truth: Truth, day: date, standard: float = 800.0) -> pd.DataFrame:
    """application_id, decision, reasons, uncertain — for the applications delivered on ``day``."""
    apps = truth.delivered("social_security.assistance_applications")
    apps = apps[(apps["day"] == day.isoformat()) & ~apps["defects"].map(lambda d: "applicationId" in d)]
    apps = apps.sort_values("source_row").drop_duplicates("applicationId", keep="last")
    vehicles = truth.as_of("traffic_police.motor_vehicles", day)
    owned = set(vehicles[(vehicles["机动车状态"] == "A") & (vehicles["使用性质"] == "A") & (vehicles["号牌种类"] != "07")
                         & (vehicles["所有人证件类型"] == "A")]["所有人证件号码"])
    permits = truth.as_of("transport.road_transport_permits", day)
    operators = set(permits[permits["证件状态"] == "营运"]["业户证件号码"])
    insured = truth.as_of("social_security.insured_persons", day)
    readable = insured[~insured["defects"].map(lambda d: "AAC002" in d)]
    damaged = set(readable[readable["defects"].map(lambda d: bool(d & {"AAC008", "AAE180", "AAE140"}))]["AAC002"])
    rich = set(readable[(readable["AAC008"] == "1") & (pd.to_numeric(readable["AAE180"]) > 3 * standard)
                        & readable["defects"].map(lambda d: not d & {"AAC008", "AAE180"})]["AAC002"])
    benefits = truth.as_of("social_security.benefit_payments", day)
    pensions = benefits[benefits["AAE140"].isin(["110", "120"])]
    known = set(truth.as_of("traffic_police.driving_licences", day)["sfzmhm"]) | set(
        truth.as_of("transport.practitioner_qualifications", day)["idNumber"]) | set(readable["AAC002"])

    rows = []
    for app in apps.itertuples():
        members = [app.applicantIdNumber, *json.loads(app.householdIdNumbers)]
        broken = {i for i in range(len(members))
                  if (i == 0 and "applicantIdNumber" in app.defects) or f"householdIdNumbers[{i - 1}]" in app.defects}
        readable_members = {m for i, m in enumerate(members) if i not in broken}
        months = _months_before(app.appliedAt, 3)
        paid = pensions[pensions["AAC002"].isin(readable_members) & pensions["AAE002"].isin(months)]
        monthly = pd.to_numeric(paid["AAE019"]).groupby(paid["AAC002"]).sum() / 3
        flags = {
            "owns_private_vehicle": bool(readable_members & owned),
            "operates_transport_business": bool(readable_members & operators),
            "income_above_threshold": bool(readable_members & rich),
            "pension_above_threshold": bool((monthly > standard).any()),
            "identity_unverified": bool(broken) or bool(readable_members - known),
        }
        reasons = sorted(f for f, on in flags.items() if on)
        decision = ("ineligible" if set(reasons) - {"identity_unverified"}
                    else "manual_review" if reasons else "eligible")
        uncertain = bool(readable_members & damaged) or "appliedAt" in app.defects
        rows.append((app.applicationId, decision, json.dumps(reasons), uncertain))
    return pd.DataFrame(rows, columns=["application_id", "decision", "reasons", "uncertain"])


def certificate_verification(truth: Truth, day: date) -> pd.DataFrame:
    """request_id, result, uncertain — for the requests delivered on ``day``."""
    reqs = truth.delivered("jishiban.verification_requests")
    reqs = reqs[(reqs["day"] == day.isoformat()) & ~reqs["defects"].map(lambda d: "requestId" in d)]
    lic = truth.as_of("traffic_police.driving_licences", day)
    per = truth.as_of("transport.road_transport_permits", day)
    qual = truth.as_of("transport.practitioner_qualifications", day)
    con = truth.as_of("municipal.construction_permits", day)
    certs = pd.concat([
        pd.DataFrame({"type": "driving_licence", "no": lic["sfzmhm"], "holder": lic["sfzmhm"], "name": lic["xm"],
                      "status": lic["zt"].map({"A": "valid", "B": "expired", "E": "revoked", "G": "suspended"}),
                      "valid_to": lic["yxqz"]}),
        pd.DataFrame({"type": "road_transport_permit", "no": per["道路运输证号"], "holder": per["业户证件号码"],
                      "name": per["业户名称"], "status": per["证件状态"].map({"营运": "valid", "注销": "deregistered",
                                                                           "吊销": "revoked"}),
                      "valid_to": per["有效期至"]}),
        pd.DataFrame({"type": "practitioner_qualification", "no": qual["certNo"], "holder": qual["idNumber"],
                      "name": qual["name"], "status": qual["status"], "valid_to": qual["validTo"]}),
        pd.DataFrame({"type": "construction_permit", "no": con["PermitNo"], "holder": con["BuilderUSCC"],
                      "name": con["BuilderName"], "status": con["Status"], "valid_to": None}),
    ]).set_index(["type", "no"])
    rows = []
    for r in reqs.itertuples():
        uncertain = bool(r.defects & {"certType", "certNo", "requestedAt"})
        if (r.certType, r.certNo) not in certs.index:
            result = "not_found"
        else:
            c = certs.loc[(r.certType, r.certNo)]
            request_day = r.requestedAt[:10]
            if "holderId" in r.defects or r.holderId != c["holder"] or r.holderName != c["name"]:
                result = "holder_mismatch"
            elif c["status"] in ("revoked", "deregistered"):
                result = "revoked"
            elif c["status"] == "suspended":
                result = "suspended"
            elif c["status"] == "expired" or (c["valid_to"] is not None and c["valid_to"] < request_day):
                result = "expired"
            else:
                result = "valid"
        rows.append((r.requestId, result, uncertain))
    return pd.DataFrame(rows, columns=["request_id", "result", "uncertain"])


def commercial_vehicles(truth: Truth, day: date) -> pd.DataFrame:
    """plate_no, plate_type, violations_30d, points_30d, unqualified_driver, risk — as of ``day``."""
    scope_type = {"道路旅客运输": "passenger_driver", "道路普通货物运输": "freight_driver",
                  "危险货物运输": "dangerous_goods_driver", "出租客运": "taxi_driver"}
    permits = truth.as_of("transport.road_transport_permits", day)
    permits = permits[permits["证件状态"] == "营运"]
    first = (day - timedelta(days=29)).isoformat()
    violations = truth.as_of("traffic_police.violations", day)
    violations = violations[(violations["违法时间"].str[:10] >= first) & (violations["违法时间"].str[:10] <= day.isoformat())]
    quals = truth.as_of("transport.practitioner_qualifications", day)
    quals = quals[quals["status"] == "valid"]
    rows = []
    for (plate, ptype), group in permits.groupby(["车辆号牌", "号牌种类"]):
        needed = {scope_type.get(s) for s in group["经营范围"]}
        v = violations[(violations["号牌号码"] == plate) & (violations["号牌种类"] == ptype)]
        unqualified = False
        for viol in v.itertuples():
            driver = viol.当事人证件号码
            if driver is None:
                continue
            vday = viol.违法时间[:10]
            ok = quals[(quals["idNumber"] == driver) & quals["qualificationType"].isin(needed)
                       & (quals["issueDate"] <= vday) & (quals["validTo"] >= vday)]
            unqualified |= ok.empty
        n, points = len(v), int(pd.to_numeric(v["违法记分"]).sum())
        risk = "high" if n >= 3 or points >= 12 or unqualified else "medium" if n >= 1 else "low"
        rows.append((plate, ptype, n, points, unqualified, risk))
    return pd.DataFrame(rows, columns=["plate_no", "plate_type", "violations_30d", "points_30d", "unqualified_driver",
                                       "risk"])


def budget(truth: Truth, day: date) -> pd.DataFrame:
    """employer_uscc, pension_headcount, headcount_by_insurance, contribution_base_total — as of ``day``."""
    employers = truth.as_of("social_security.employers", day)
    employers = employers[employers["AAB019"].isin(["10", "30"])]
    everyone = truth.as_of("social_security.insured_persons", day)
    damaged = set(everyone[everyone["defects"].map(len) > 0]["AAB001"])
    insured = everyone[(everyone["AAC008"] == "1") & everyone["AAE140"].isin(["110", "120", "210", "310", "410"])
                       & (everyone["defects"].map(len) == 0)]
    rows = []
    for uscc, group in employers.groupby("AAB003"):
        paying = insured[insured["AAB001"].isin(group["AAB001"])]
        pension = paying[paying["AAE140"].isin(["110", "120"])]
        by_type = {t: int(n) for t, n in paying.groupby("AAE140")["AAC002"].nunique().sort_index().items()}
        rows.append((uscc, int(pension["AAC002"].nunique()), json.dumps(by_type),
                     round(float(pd.to_numeric(pension["AAE180"]).sum()), 2), bool(set(group["AAB001"]) & damaged)))
    return pd.DataFrame(rows, columns=["employer_uscc", "pension_headcount", "headcount_by_insurance",
                                       "contribution_base_total", "uncertain"])


def social_security_approval(truth: Truth, day: date) -> pd.DataFrame:
    """source_row, decision, reasons, uncertain — for the insured rows delivered on ``day``."""
    rows_today = truth.delivered("social_security.insured_persons")
    rows_today = rows_today[rows_today["day"] == day.isoformat()]
    everyone = truth.as_of("social_security.insured_persons", day)
    paying = everyone[(everyone["AAC008"] == "1") & ~everyone["defects"].map(lambda d: bool(d & {"AAC002", "AAC008"}))]
    employers = set(truth.as_of("social_security.employers", day)["AAB001"])
    names = pd.concat([
        truth.as_of("traffic_police.driving_licences", day)[["sfzmhm", "xm"]].set_axis(["id", "name"], axis=1),
        truth.as_of("transport.practitioner_qualifications", day)[["idNumber", "name"]].set_axis(["id", "name"], axis=1),
    ])
    out = []
    for r in rows_today.itertuples():
        invalid = "AAC002" in r.defects
        flags = {
            "invalid_id": invalid,
            "birth_date_mismatch": not invalid and r.AAC006.replace("-", "") != r.AAC002[6:14],
            "name_mismatch": not invalid and bool((names[names["id"] == r.AAC002]["name"] != r.AAC003).any()),
            "employer_invalid": r.AAB001 not in employers,
            "duplicate_enrollment": not invalid and bool(
                ((paying["AAC002"] == r.AAC002) & (paying["AAE140"] == r.AAE140) & (paying["AAB001"] != r.AAB001)).any()),
        }
        reasons = sorted(f for f, on in flags.items() if on)
        uncertain = bool(r.defects - {"AAC002"})
        out.append((int(r.source_row), "rejected" if reasons else "approved", json.dumps(reasons), uncertain))
    return pd.DataFrame(out, columns=["source_row", "decision", "reasons", "uncertain"])
