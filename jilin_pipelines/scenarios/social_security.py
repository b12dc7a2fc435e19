"""社保待遇/参保审批 — social-security approval of every insured row delivered on D (DESIGN, "Scenario rules").

``rejected`` with the flags that hold, else ``approved``. Flags: ``invalid_id``; ``birth_date_mismatch``
(``AAC006`` differs from the birth date in the ID); ``name_mismatch`` (another identity-bearing dataset — a
driving licence or a practitioner qualification — names the same ID differently, after normalisation);
``employer_invalid`` (the employer number is unknown, or its USCC is invalid); ``duplicate_enrollment``
(another paying row, ``AAC008`` = 1, for the same ID and insurance type at another employer, as of D).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from jilin_pipelines.scenarios.core import (
    BaseView, Decisions, Fairness, Scenario, Thresholds, concat_evidence, evidence, joined_id, reasons_json,
)
from jilin_pipelines.standards import normalise_name, validate_resident_id, validate_uscc

INVALID_ID = "invalid_id"
BIRTH_DATE = "birth_date_mismatch"
NAME = "name_mismatch"
EMPLOYER = "employer_invalid"
DUPLICATE = "duplicate_enrollment"
FLAGS = (INVALID_ID, BIRTH_DATE, NAME, EMPLOYER, DUPLICATE)
NAME_SOURCES = ("traffic_police.driving_licences", "transport.practitioner_qualifications")
DECISION_ID = ("id_number", "insurance_type", "employer_no")


def person_ids(rows: pd.DataFrame, day: date):
    """The ID check of each row and the person it names: the normalised ID, or the ID as delivered if invalid."""
    checked = validate_resident_id(rows["id_number"].astype("string"), today=day)
    return checked, checked.value.where(checked.valid, rows["id_number"]).astype(object)


def narrow(rows: pd.DataFrame, day: date) -> dict[str, tuple[str, pd.Series]]:
    """The base records the rows can use: their persons' and employers' (see ``Scenario.narrow``)."""
    _, person = person_ids(rows, day)
    return {"insured_person": ("id_number", person), "employer": ("employer_no", rows["employer_no"]),
            **{f"person@{source}": ("id_number", person) for source in NAME_SOURCES}}


def decide(view: BaseView, day: date, t: Thresholds) -> Decisions:
    rows = view.delivered.reset_index(drop=True)
    ids = joined_id(rows, DECISION_ID)
    proof = [evidence(ids, "input", "insured_person", rows, DECISION_ID, person=rows["id_number"])]
    checked, person = person_ids(rows, day)
    flags = pd.DataFrame(index=rows.index)
    flags[INVALID_ID] = ~checked.valid.to_numpy()

    # the birth date the ID carries (a valid ID only) against AAC006
    born = pd.to_datetime(person.where(checked.valid).str.slice(6, 14), format="%Y%m%d", errors="coerce").dt.date
    stated = pd.to_datetime(rows["birth_date"], errors="coerce").dt.date
    flags[BIRTH_DATE] = (checked.valid & born.notna() & stated.notna() & (born != stated)).to_numpy()

    # names: the other identity-bearing datasets' newest versions of the person, as of D
    named = []
    for source in NAME_SOURCES:
        versions = view[f"person@{source}"]
        named.append(versions[versions["name"].notna()])
    named = pd.concat(named, ignore_index=True)
    own = pd.DataFrame({"row": rows.index, "id_number": person,
                        "own_name": normalise_name(rows["name"].astype("string")).value.to_numpy()})
    named = own.merge(named, on="id_number")
    named["other"] = normalise_name(named["name"].astype("string")).value.to_numpy()
    differ = named[named["own_name"].notna() & (named["other"] != named["own_name"])]
    flags[NAME] = rows.index.isin(differ["row"])
    proof.append(evidence(ids[named["row"]].reset_index(drop=True), NAME, "person", named, ("id_number",),
                          person=named["id_number"]))

    # the employer: known (delivered by the employers' dataset, not a mere reference) with a valid USCC
    employers = view["employer"]
    known = employers[~employers["placeholder"]]
    known = known[validate_uscc(known["uscc"].astype("string")).valid.to_numpy()]
    flags[EMPLOYER] = ~rows["employer_no"].isin(known["employer_no"]).to_numpy()
    at = rows[["employer_no"]].reset_index().merge(employers, on="employer_no")
    proof.append(evidence(ids[at["index"]].reset_index(drop=True), EMPLOYER, "employer", at, ("employer_no",)))

    # another paying row of the same person and insurance type at another employer, as of D
    insured = view["insured_person"]
    paying = insured[insured["status"] == "1"]
    mine = pd.DataFrame({"row": rows.index, "id_number": person, "insurance_type": rows["insurance_type"],
                         "own_employer": rows["employer_no"]})
    others = mine.merge(paying, on=["id_number", "insurance_type"])
    others = others[others["employer_no"] != others["own_employer"]]
    flags[DUPLICATE] = rows.index.isin(others["row"])
    proof.append(evidence(ids[others["row"]].reset_index(drop=True), DUPLICATE, "insured_person", others,
                          ("id_number", "insurance_type", "employer_no"), person=others["id_number"]))

    rejected = flags.any(axis=1)
    table = pd.DataFrame({
        "partition": day, "source_row": rows["_source_row"].astype("int64"),
        "id_number": rows["id_number"], "insurance_type": rows["insurance_type"], "employer_no": rows["employer_no"],
        "decision": rejected.map({True: "rejected", False: "approved"}).astype(object),
        "reasons": reasons_json(flags[list(FLAGS)]),
    })
    return Decisions(table, concat_evidence(proof))


SCENARIO = Scenario(
    name="social_security_approval",
    title="社会保险参保审批 — social-security enrolment approval",
    purpose="social_security_approval",
    legal_basis="《中华人民共和国社会保险法》第五十七条、第八十一条",
    consumer="human_resources_social_security",  # 吉林省人力资源和社会保障厅
    reads={
        "insured_person": ("id_number", "insurance_type", "employer_no", "status"),
        **{f"person@{source}": ("id_number", "name") for source in NAME_SOURCES},
        "employer": ("employer_no", "uscc"),
    },
    input="insured_person",
    input_columns=("id_number", "insurance_type", "employer_no", "name", "birth_date"),
    decision_id=DECISION_ID,
    decide=decide,
    narrow=narrow,
    column_lineage={"partition": (), "source_row": (), "id_number": ("insured_person.id_number",), "insurance_type": ("insured_person.insurance_type",), "employer_no": ("insured_person.employer_no",)},
    # about the insured person; every flag rests on evidence delivered (an employer number no record names is
    # employer_invalid alike with an invalid USCC, so it is not counted as missing data)
    fairness=Fairness(subject="person", subject_key=("id_number",), adverse=("rejected",),
                      coverage=tuple((f"person@{source}", "id_number") for source in NAME_SOURCES)),
)
