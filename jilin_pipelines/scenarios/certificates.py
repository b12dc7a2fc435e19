"""电子证照核验 — e-certificate verification of every JiShiBan request delivered on D (DESIGN, "Scenario rules";
the seed's real-vs-fake lawyer and construction-permit checks, for every certificate of the e-certificate base).

First match wins: ``not_found`` (no certificate of that type and number: a forgery); ``holder_mismatch`` (the
presented holder ID or name is not the certificate's, after normalisation); ``revoked`` (revoked or
deregistered); ``suspended``; ``expired`` (status expired, or valid-to before the request day); else ``valid``
(a completed construction permit is valid).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from jilin_pipelines.scenarios.core import (
    BaseView, Decisions, Fairness, Scenario, Thresholds, concat_evidence, evidence,
)
from jilin_pipelines.standards import normalise_name, validate_resident_id, validate_uscc

RESULTS = ("not_found", "holder_mismatch", "revoked", "suspended", "expired", "valid")
KEY = ["cert_type", "cert_no"]


def holder_id(ids: pd.Series, id_type: pd.Series, day: date) -> pd.Series:
    """Holder IDs in one comparable form: a resident ID (type A) or a USCC (type B) normalised where the standard
    can, else trimmed and upper-cased."""
    ids = ids.astype("string")
    plain = ids.str.strip().str.upper()
    person = validate_resident_id(ids, today=day)
    entity = validate_uscc(ids)
    out = plain.where(~((id_type == "A") & person.valid), person.value)
    out = out.where(~((id_type == "B") & entity.valid), entity.value)
    return out.astype(object)


def answerable(requests: pd.DataFrame) -> pd.DataFrame:
    """The requests with an ID (no ID, nothing to answer to), their certificate numbers trimmed."""
    requests = requests[requests["request_id"].notna()].reset_index(drop=True)
    requests["cert_no"] = requests["cert_no"].astype("string").str.strip().astype(object)
    return requests


def narrow(requests: pd.DataFrame, day: date) -> dict[str, tuple[str, pd.Series]]:
    """The certificates the requests can match: those with their numbers (see ``Scenario.narrow``)."""
    return {"certificate": ("cert_no", answerable(requests)["cert_no"])}


def decide(view: BaseView, day: date, t: Thresholds) -> Decisions:
    requests = answerable(view.delivered)
    certs = view["certificate"]
    matched = requests.reset_index().merge(certs, on=KEY, how="left", suffixes=("", "_cert"), indicator=True)
    matched = matched.drop_duplicates("index").set_index("index").reindex(requests.index)
    found = (matched["_merge"] == "both").to_numpy()

    presented_id = holder_id(requests["holder_id"], requests["holder_id_type"], day)
    cert_id = holder_id(matched["holder_id_cert"], matched["holder_id_type_cert"], day)
    presented_name = normalise_name(requests["holder_name"].astype("string")).value
    cert_name = normalise_name(matched["holder_name_cert"].astype("string")).value
    mismatch = (presented_id.fillna("") != cert_id.fillna("")).to_numpy() | (
        presented_name.fillna("") != cert_name.fillna("")).to_numpy()

    status = matched["status"].to_numpy()
    request_day = requests["requested_at"].dt.date.fillna(day)
    valid_to = pd.to_datetime(matched["valid_to"], errors="coerce").dt.date
    lapsed = (valid_to.notna() & (valid_to < request_day)).to_numpy()
    result = np.select(
        [~found, mismatch, np.isin(status, ["revoked", "deregistered"]), status == "suspended",
         (status == "expired") | lapsed],
        list(RESULTS[:-1]),
        default="valid",
    )
    table = pd.DataFrame({"request_id": requests["request_id"], "partition": day, "result": result})
    used = matched[found].reset_index(drop=True)
    cert_rows = pd.DataFrame({
        "cert_type": used["cert_type"], "cert_no": used["cert_no"], "_valid_from": used["_valid_from"],
    })
    person = used["holder_id_cert"].where(used["holder_id_type_cert"] == "A")
    proof = [
        evidence(requests["request_id"], "input", "verification_request", requests, ("request_id",),
                 person=requests["holder_id"].where(requests["holder_id_type"] == "A")),
        evidence(used["request_id"], "match", "certificate", cert_rows, tuple(KEY), person=person),
    ]
    return Decisions(table, concat_evidence(proof))


SCENARIO = Scenario(
    name="certificate_verification",
    title="电子证照核验 — e-certificate verification for JiShiBan",
    purpose="certificate_verification",
    legal_basis="《国务院关于加快推进全国一体化在线政务服务平台建设的指导意见》(国发〔2018〕27号); 《电子证照总体技术架构》GB/T 36901",
    consumer="jishiban",  # 吉事办
    reads={
        "certificate": ("cert_type", "cert_no", "holder_id", "holder_id_type", "holder_name", "valid_to", "status"),
    },
    input="verification_request",
    input_columns=("request_id", "cert_type", "cert_no", "holder_id", "holder_id_type", "holder_name", "requested_at"),
    decision_id=("request_id",),
    decide=decide,
    narrow=narrow,
    column_lineage={"request_id": ("verification_request.request_id",), "partition": ()},
    # about the person who presents the certificate (an entity holder has no person groups: counted as unknown);
    # not_found rests on no certificate record: missing data
    fairness=Fairness(subject="person", adverse=tuple(r for r in RESULTS if r != "valid"), missing_data=("not_found",),
                      coverage=(("certificate", "holder_id"),)),
)
