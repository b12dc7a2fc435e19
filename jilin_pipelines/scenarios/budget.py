"""预算编制基础信息 — budget preparation basic information (DESIGN, "Scenario rules").

Per employer of type ``10`` (organ) or ``30`` (institution), as of D: ``pension_headcount`` — the persons with a
paying (``AAC008`` = 1) row of type 110 or 120 there; ``headcount_by_insurance`` — paying persons per insurance
type (``AAE140``); ``contribution_base_total`` — the sum of ``AAE180`` over those paying pension rows. Employers
are reported by their USCC (an employer number without one is left out). Rows whose ID number is invalid
count nowhere.
"""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd

from jilin_pipelines.scenarios.core import (
    BaseView, Decisions, Fairness, Scenario, Thresholds, concat_evidence, evidence, in_list,
)
from jilin_pipelines.standards import validate_resident_id

BUDGET_TYPES = ("10", "30")
PENSION_TYPES = ("110", "120")
NO_STAFF = "no_pension_staff"  # the fairness audit's adverse outcome: nobody to budget a pension for
INSURANCE_TYPES = ("110", "120", "210", "310", "410")  # AAE140; an insured row with another code counts nowhere


def narrow(employers: pd.DataFrame, day: date) -> dict[str, tuple[str, pd.Series]]:
    """The insured rows that can count for the employers (see ``Scenario.narrow``): those of the organs' and
    institutions'."""
    return {"insured_person": ("employer_no", _budgeted(employers)["employer_no"])}


def _budgeted(employers: pd.DataFrame) -> pd.DataFrame:
    """The employers the scenario reports on: organs and institutions with a USCC."""
    return employers[~employers["placeholder"] & employers["employer_type"].isin(BUDGET_TYPES)
                     & employers["uscc"].notna()]


def core_sql() -> dict[str, str]:
    """The rule's set-based core, as SQL over the budgeted ``employers`` and the ``insured_person`` rows (with
    ``id_valid``, the row's ID number checked): ``table`` per USCC its pension headcount and contribution base
    total, ``by_type`` its paying persons per insurance type, ``paying`` the rows that count (the evidence)."""
    pension = f"p.insurance_type IN {in_list(PENSION_TYPES)}"
    paying = f"""
WITH paying AS (
  SELECT i.id_number, i.insurance_type, i.employer_no, i.contribution_base, i._valid_from, e.uscc
  FROM insured_person AS i JOIN employers AS e ON e.employer_no = i.employer_no
  WHERE i.status = '1' AND i.insurance_type IN {in_list(INSURANCE_TYPES)} AND i.id_valid
)"""
    return {
        "table": paying + f"""
SELECT u.uscc AS employer_uscc,
       COUNT(DISTINCT CASE WHEN {pension} THEN p.id_number END) AS pension_headcount,
       CAST(COALESCE(SUM(CASE WHEN {pension} THEN CAST(p.contribution_base AS DECIMAL(38, 6)) END), 0) AS DOUBLE)
         AS contribution_base_total
FROM (SELECT DISTINCT uscc FROM employers) AS u LEFT JOIN paying AS p ON p.uscc = u.uscc
GROUP BY u.uscc""",
        "by_type": paying + """
SELECT uscc, insurance_type, COUNT(DISTINCT id_number) AS persons FROM paying GROUP BY uscc, insurance_type""",
        "paying": paying + "\nSELECT uscc, id_number, insurance_type, employer_no, _valid_from FROM paying",
    }


def decide(view: BaseView, day: date, t: Thresholds) -> Decisions:
    employers = _budgeted(view["employer"])
    insured = view["insured_person"]
    # a row whose ID number is invalid names no one who can be counted (its person is counted by a valid row)
    checked = insured.assign(id_valid=validate_resident_id(insured["id_number"].astype("string"), today=day).valid.to_numpy())
    core = view.query(core_sql(), employers=employers[["employer_no", "uscc"]], insured_person=checked)
    by_type = core["by_type"].sort_values(["uscc", "insurance_type"])
    by_type_json = {uscc: json.dumps({k: int(v) for k, v in zip(group["insurance_type"], group["persons"])})
                    for uscc, group in by_type.groupby("uscc", sort=False)}
    table = core["table"].sort_values("employer_uscc").reset_index(drop=True)
    table = pd.DataFrame({
        "employer_uscc": table["employer_uscc"],
        "as_of": day,
        "pension_headcount": table["pension_headcount"].astype("int64"),
        "headcount_by_insurance": [by_type_json.get(u, "{}") for u in table["employer_uscc"]],
        "contribution_base_total": table["contribution_base_total"].astype("float64").round(2),
    })
    paying = core["paying"]
    proof = [
        evidence(employers["uscc"], "employer", "employer", employers, ("employer_no",)),
        evidence(paying["uscc"], "headcount", "insured_person", paying, ("id_number", "insurance_type", "employer_no"),
                 person=paying["id_number"]),
    ]
    return Decisions(table, concat_evidence(proof))

SCENARIO = Scenario(
    name="budget_staff_basic_info",
    title="预算编制基础信息 — budget preparation: staff basic information per public employer",
    purpose="budget_staff_basic_info",
    legal_basis="《中华人民共和国预算法》第三十二条; 《政务信息资源共享管理暂行办法》(国发〔2016〕51号) 第十条",
    consumer="finance",  # 吉林省财政厅
    reads={
        "employer": ("employer_no", "uscc", "employer_type"),
        "insured_person": ("id_number", "insurance_type", "employer_no", "status", "contribution_base"),
    },
    decision_id=("employer_uscc",),
    decide=decide,
    # about the employer: one with no paying pension staff on record gets no pension budget — which rests on
    # insured rows missing rather than on evidence
    fairness=Fairness(subject="employer", subject_key=("employer_uscc",), adverse=(NO_STAFF,), missing_data=(NO_STAFF,),
                      outcome=lambda t: np.where(t["pension_headcount"] == 0, NO_STAFF, "staff_on_record"),
                      coverage=(("insured_person", "employer_no"),)),
    units=("employer", ("uscc",)),  # one decision per USCC: an employer's numbers are decided together
    narrow=narrow,
    column_lineage={"employer_uscc": ("employer.uscc",), "as_of": (), "pension_headcount": ("insured_person.id_number", "insured_person.insurance_type", "insured_person.status"), "headcount_by_insurance": ("insured_person.id_number", "insured_person.insurance_type", "insured_person.status"), "contribution_base_total": ("insured_person.contribution_base", "insured_person.insurance_type", "insured_person.status")},
)
