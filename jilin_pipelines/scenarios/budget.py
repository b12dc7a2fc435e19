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
    BaseView,
    Decisions,
    Fairness,
    Scenario,
    Thresholds,
    concat_evidence,
    evidence,
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


def decide(view: BaseView, day: date, t: Thresholds) -> Decisions:
    employers = _budgeted(view["employer"])
    insured = view["insured_person"]
    paying = insured[(insured["status"] == "1") & insured["insurance_type"].isin(INSURANCE_TYPES)].merge(
        employers[["employer_no", "uscc"]], on="employer_no")
    # a row whose ID number is invalid names no one who can be counted (its person is counted by a valid row)
    paying = paying[validate_resident_id(paying["id_number"].astype("string"), today=day).valid.to_numpy()]
    pension = paying[paying["insurance_type"].isin(PENSION_TYPES)]
    heads = pension.groupby("uscc")["id_number"].nunique()
    base = pension.groupby("uscc")["contribution_base"].sum()
    by_type = paying.groupby(["uscc", "insurance_type"])["id_number"].nunique()
    by_type_json = {
        uscc: json.dumps({k: int(v) for k, v in group.droplevel(0).sort_index().items()})
        for uscc, group in by_type.groupby(level=0)
    }
    usccs = pd.Index(sorted(employers["uscc"].unique()), name="uscc")
    table = pd.DataFrame({
        "employer_uscc": usccs,
        "as_of": day,
        "pension_headcount": heads.reindex(usccs, fill_value=0).astype("int64").to_numpy(),
        "headcount_by_insurance": [by_type_json.get(u, "{}") for u in usccs],
        "contribution_base_total": base.reindex(usccs, fill_value=0.0).astype("float64").round(2).to_numpy(),
    })
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
    output="budget_staff_basic_info",
    output_key=("employer_uscc", "as_of"),
    decision_id=("employer_uscc",),
    decide=decide,
    # about the employer: one with no paying pension staff on record gets no pension budget — which rests on
    # insured rows missing rather than on evidence
    fairness=Fairness(subject="employer", subject_key=("employer_uscc",), adverse=(NO_STAFF,), missing_data=(NO_STAFF,),
                      outcome=lambda t: np.where(t["pension_headcount"] == 0, NO_STAFF, "staff_on_record"),
                      coverage=(("insured_person", "employer_no"),)),
    units=("employer", ("uscc",)),  # one decision per USCC: an employer's numbers are decided together
    narrow=narrow,
    columns={
        "employer_uscc": "the organ or institution employer (type 10 or 30) by its unified social credit code",
        "pension_headcount": "persons with a paying (AAC008 = 1) pension row (AAE140 110 or 120) at the employer",
        "headcount_by_insurance": "paying persons per insurance type (AAE140), a JSON object type -> persons",
        "contribution_base_total": "the sum of the contribution bases (AAE180, yuan) of those paying pension rows",
    },
    column_lineage={"employer_uscc": ("employer.uscc",), "as_of": (), "pension_headcount": ("insured_person.id_number", "insured_person.insurance_type", "insured_person.status"), "headcount_by_insurance": ("insured_person.id_number", "insured_person.insurance_type", "insured_person.status"), "contribution_base_total": ("insured_person.contribution_base", "insured_person.insurance_type", "insured_person.status")},
)
