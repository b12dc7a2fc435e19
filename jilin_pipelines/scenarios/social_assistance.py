"""社会救助家庭经济状况核对 — the social assistance household economic check (DESIGN, "Scenario rules").

Per application delivered on D, flags over every household member (the applicant and the listed members):
``owns_private_vehicle``, ``operates_transport_business``, ``income_above_threshold``,
``pension_above_threshold``, ``identity_unverified``. ``ineligible`` if any of the first four holds, else
``manual_review`` if the identity of a member is unverified, else ``eligible``.
"""

from __future__ import annotations

import json
from datetime import date

import pandas as pd

from jilin_pipelines.scenarios.core import (
    BaseView, Decisions, Fairness, Scenario, Thresholds, concat_evidence, evidence, in_list, literal, reasons_json,
)
from jilin_pipelines.standards import validate_resident_id

OWNS_VEHICLE = "owns_private_vehicle"
TRANSPORT_BUSINESS = "operates_transport_business"
INCOME = "income_above_threshold"
PENSION = "pension_above_threshold"
IDENTITY = "identity_unverified"
DISQUALIFYING = (OWNS_VEHICLE, TRANSPORT_BUSINESS, INCOME, PENSION)
FLAGS = (*DISQUALIFYING, IDENTITY)
PENSION_TYPES = ("110", "120")
IN_SERVICE = "营运"
IDENTITY_SOURCES = (
    "traffic_police.driving_licences", "transport.practitioner_qualifications", "social_security.insured_persons"
)


def household_members(applications: pd.DataFrame, day: date) -> pd.DataFrame:
    """One row per (application, member): the applicant and every listed member, once each, with ``member`` the
    normalised ID (as delivered when it cannot be normalised) and ``valid``. A missing applicant ID is an
    invalid member ID: the application does not say who applies."""
    listed = applications["household_id_numbers"].map(lambda text: json.loads(text) if isinstance(text, str) else [])
    members = pd.concat([
        pd.DataFrame({"application_id": applications["application_id"],
                      "raw": applications["applicant_id_number"].astype(object).fillna("")}),
        pd.DataFrame({"application_id": applications["application_id"], "raw": listed}).explode("raw").dropna(),
    ], ignore_index=True)
    checked = validate_resident_id(members["raw"].astype(str), today=day)
    members["member"] = checked.value.where(checked.valid, members["raw"].astype(str).str.strip()).to_numpy()
    members["valid"] = checked.valid.to_numpy()
    return members.drop_duplicates(["application_id", "member"])[["application_id", "member", "valid"]]


def pension_periods(applied_at: pd.Series, months: int) -> pd.DataFrame:
    """Per application the ``months`` full calendar months before ``applied_at``, as ``YYYYMM`` periods."""
    start = applied_at.dt.tz_localize(None).dt.to_period("M") if applied_at.dt.tz is not None else applied_at.dt.to_period("M")
    frames = [pd.DataFrame({"row": range(len(applied_at)), "period": (start - k).dt.strftime("%Y%m").to_numpy()})
              for k in range(1, months + 1)]
    return pd.concat(frames, ignore_index=True)


def answerable(applications: pd.DataFrame) -> pd.DataFrame:
    """The applications with an ID (no ID, nothing to answer to)."""
    return applications[applications["application_id"].notna()].reset_index(drop=True)


def narrow(applications: pd.DataFrame, day: date) -> dict[str, tuple[str, pd.Series]]:
    """The base records the applications can use: their household members' (see ``Scenario.narrow``)."""
    members = household_members(answerable(applications), day)["member"]
    return {"vehicle": ("owner_id", members), "road_transport_permit": ("operator_id", members),
            "insured_person": ("id_number", members), "benefit_payment": ("id_number", members),
            **{f"person@{source}": ("id_number", members) for source in IDENTITY_SOURCES}}


def core_sql(t: Thresholds) -> dict[str, str]:
    """The rule's set-based core, as SQL over ``members`` (application, member, valid), ``periods`` (application,
    period: the full months before it), the base reads and ``known`` (the IDs an identity-bearing dataset
    delivered): per flag the (application, member) pairs and the records that raise it — the evidence."""
    def used(records: str, person: str, columns: str) -> str:
        return f"SELECT m.application_id, m.member, {columns} FROM members AS m JOIN ({records}) AS r ON r.{person} = m.member"

    pension = f"""
WITH paid AS (
  SELECT m.application_id, m.member, b.id_number, b.insurance_type, b.period, b._valid_from,
         CAST(b.amount_yuan AS DECIMAL(38, 6)) AS amount
  FROM members AS m JOIN periods AS p ON p.application_id = m.application_id
  JOIN benefit_payment AS b ON b.id_number = m.member AND b.period = p.period
  WHERE b.insurance_type IN {in_list(PENSION_TYPES)}
)"""
    return {
        OWNS_VEHICLE: used(
            "SELECT * FROM vehicle WHERE status_code = 'A' AND use_code = 'A' AND plate_type <> '07' AND owner_id_type = 'A'",
            "owner_id", "r.plate_no, r.plate_type, r._valid_from"),
        TRANSPORT_BUSINESS: used(f"SELECT * FROM road_transport_permit WHERE status = {literal(IN_SERVICE)}",
                                 "operator_id", "r.permit_no, r._valid_from"),
        INCOME: used(f"SELECT * FROM insured_person WHERE status = '1' AND contribution_base > "
                     f"{literal(t.income_multiple * t.assistance_standard_yuan)}",
                     "id_number", "r.id_number, r.insurance_type, r.employer_no, r._valid_from"),
        # the payments of the full months before the application, summed per member, over the standard a month
        PENSION: pension + f"""
SELECT application_id, member FROM paid GROUP BY application_id, member
HAVING SUM(amount) > {literal(t.pension_months * t.assistance_standard_yuan)}""",
        "paid": pension + "\nSELECT application_id, member, id_number, insurance_type, period, _valid_from FROM paid",
        # known: an identity-bearing dataset delivered a record naming the member (a mere reference does not count)
        IDENTITY: "SELECT application_id, member FROM members AS m WHERE NOT m.valid OR NOT EXISTS ("
                  "SELECT 1 FROM known AS k WHERE k.id_number = m.member)",
        "identity": used("SELECT * FROM known", "id_number", "r.*"),
    }


def decide(view: BaseView, day: date, t: Thresholds) -> Decisions:
    apps = answerable(view.delivered)
    members = household_members(apps, day)
    periods = pension_periods(apps["applied_at"], t.pension_months)
    periods["application_id"] = apps["application_id"].to_numpy()[periods["row"].to_numpy()]
    known = pd.concat([view[f"person@{source}"] for source in IDENTITY_SOURCES], ignore_index=True)
    core = view.query(core_sql(t), members=members, periods=periods[["application_id", "period"]], known=known,
                      **{table: view[table] for table in ("vehicle", "road_transport_permit", "insured_person",
                                                          "benefit_payment")})
    proof = [evidence(apps["application_id"], "input", "assistance_application", apps, ("application_id",),
                      person=apps["applicant_id_number"])]
    for name, table, key, rows in ((OWNS_VEHICLE, "vehicle", ("plate_no", "plate_type"), core[OWNS_VEHICLE]),
                                   (TRANSPORT_BUSINESS, "road_transport_permit", ("permit_no",), core[TRANSPORT_BUSINESS]),
                                   (INCOME, "insured_person", ("id_number", "insurance_type", "employer_no"), core[INCOME]),
                                   (PENSION, "benefit_payment", ("id_number", "insurance_type", "period"), core["paid"]),
                                   ("identity", "person", ("id_number",), core["identity"])):
        proof.append(evidence(rows["application_id"], name, table, rows, key, person=rows["member"]))
    flags = pd.DataFrame({name: apps["application_id"].isin(core[name]["application_id"]).to_numpy() for name in FLAGS},
                         index=apps.index)
    decision = pd.Series("eligible", index=apps.index, dtype=object)
    decision[flags[IDENTITY]] = "manual_review"
    decision[flags[list(DISQUALIFYING)].any(axis=1)] = "ineligible"
    table = pd.DataFrame({
        "application_id": apps["application_id"], "partition": day, "decision": decision,
        "reasons": reasons_json(flags[list(FLAGS)]),
    })
    return Decisions(table, concat_evidence(proof))

SCENARIO = Scenario(
    name="social_assistance_verification",
    title="社会救助家庭经济状况核对 — social assistance household economic check",
    purpose="social_assistance_verification",
    legal_basis="《社会救助暂行办法》第十一条、第五十六条; 《最低生活保障审核确认办法》",
    consumer="civil_affairs",  # 吉林省民政厅
    reads={
        "vehicle": ("plate_no", "plate_type", "status_code", "use_code", "owner_id_type", "owner_id"),
        "road_transport_permit": ("permit_no", "status", "operator_id"),
        "insured_person": ("id_number", "insurance_type", "employer_no", "status", "contribution_base"),
        "benefit_payment": ("id_number", "insurance_type", "period", "amount_yuan"),
        **{f"person@{source}": ("id_number",) for source in IDENTITY_SOURCES},
    },
    input="assistance_application",
    input_columns=("application_id", "applicant_id_number", "household_id_numbers", "applied_at"),
    decision_id=("application_id",),
    decide=decide,
    narrow=narrow,
    column_lineage={"application_id": ("assistance_application.application_id",), "partition": ()},
    # about the applicant; a review delays the assistance, so it counts against them too. An unverified identity
    # rests on no dataset naming the member: missing data, not evidence
    fairness=Fairness(
        subject="person", adverse=("ineligible", "manual_review"), missing_data=(IDENTITY,),
        coverage=(("insured_person", "id_number"), *((f"person@{source}", "id_number") for source in IDENTITY_SOURCES[:2])),
    ),
)
