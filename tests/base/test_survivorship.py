"""Conflicts between departments resolve by the written rule (tables.yaml: source priority per attribute, then
recency), with provenance naming the winning row; placeholders; history; re-deliveries. Hand-written frames and
hand-written expectations."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest
from base_testkit import dump, fake_sha, hand_frame

from jilin_pipelines.base import as_of, merge_partition, provenance_as_of, record_versions, source_versions
from jilin_pipelines.base.golden import provenance_sources
from jilin_pipelines.base.query import provenance_deliveries_of

D1, D2, D3 = date(2025, 6, 2), date(2025, 6, 3), date(2025, 6, 4)
X = "220102199001011239"  # the person the departments disagree about
Y = "220102198502023452"
U = "91220101MA0000015G"  # an entity first seen only in a permit


def sources(engine, text: str) -> dict:
    """A golden version's provenance, its delivery references resolved through the ``delivery`` table."""
    return provenance_sources(text, provenance_deliveries_of(engine, [text]))


def licence(id_number, name, *, sex="1", birth="1990-01-01", division="220102", updated="2025-06-02 08:00:00",
            status="A", row=None):
    r = {"id_number": id_number, "name": name, "sex": sex, "birth_date": birth, "licence_classes": "C1",
         "first_issue_date": "2010-01-01", "valid_from": "2020-01-01", "valid_to": "2030-01-01", "status_code": status,
         "points": "0", "division_code": division, "updated_at": updated}
    if row is not None:
        r["_source_row"] = row
    return r


def insured(id_number, name, *, sex="1", birth="1990-01-01", employer="2201000001", itype="110",
            handled="2025-06-02 09:00:00", row=None):
    r = {"person_no": "P" + id_number[-8:], "id_number": id_number, "name": name, "sex": sex, "birth_date": birth,
         "employer_no": employer, "insurance_type": itype, "status": "1", "contribution_base": "3000",
         "start_date": "2015-01-01", "handled_at": handled}
    if row is not None:
        r["_source_row"] = row
    return r


def qualification(cert_no, id_number, name, *, updated="2025-06-03 10:00:00"):
    return {"cert_no": cert_no, "id_number": id_number, "name": name, "qualification_type": "freight_driver",
            "issue_date": "2015-01-01", "valid_to": "2027-01-01", "status": "valid", "updated_at": updated}


def permit(permit_no, operator_id, operator_name, *, status="营运", updated="2025-06-02 10:00:00", plate="吉A12345"):
    return {"permit_no": permit_no, "plate_no": plate, "plate_type": "01", "operator_name": operator_name,
            "operator_id": operator_id, "scope": "道路普通货物运输", "issue_date": "2015-01-01",
            "valid_to": "2027-01-01", "status": status, "updated_at": updated}


def construction(permit_no, builder_uscc, builder_name, *, updated="2025-06-02 10:00:00"):
    return {"permit_no": permit_no, "project_name": "某项目", "builder_name": builder_name, "builder_uscc": builder_uscc,
            "contractor_name": "吉林建工", "contractor_uscc": "91220101MA0000023B", "division_code": "220102",
            "address": "长春市", "area_m2": "1000", "contract_price_10k_yuan": "100", "issue_date": "2024-01-01",
            "status": "valid", "updated_at": updated}


def employer(employer_no, uscc, name, *, handled="2025-06-04 09:00:00"):
    return {"employer_no": employer_no, "uscc": uscc, "name": name, "employer_type": "50", "division_code": "220104",
            "handled_at": handled}


def one(frame: pd.DataFrame, **key) -> dict:
    rows = frame
    for k, v in key.items():
        rows = rows[rows[k] == v]
    assert len(rows) == 1, rows
    return rows.iloc[0].to_dict()


def test_source_priority_picks_each_attribute_with_provenance_of_the_winning_row(engine):
    merge_partition(engine, "social_security.insured_persons", D1, hand_frame(
        "social_security.insured_persons", D1,
        [insured(Y, "李四", row=1), insured(X, "张叁", sex="9", birth="1990-01-02", row=2)]))
    merge_partition(engine, "traffic_police.driving_licences", D1, hand_frame(
        "traffic_police.driving_licences", D1,
        [licence(Y, "李四", row=1), licence(X, "张三", row=7)]))
    merge_partition(engine, "transport.practitioner_qualifications", D2, hand_frame(
        "transport.practitioner_qualifications", D2, [qualification("Q000001", X, "张山")]))

    for day in (D1, D2):  # the driving licence outranks social security and transport for the name
        x = one(as_of(engine, "person", day), id_number=X)
        assert (x["name"], x["sex"], x["birth_date"], x["division_code"]) == ("张三", "1", date(1990, 1, 1), "220102")
        assert x["placeholder"] is False or x["placeholder"] == False  # noqa: E712
        prov = sources(engine, x["provenance"])
        assert prov["name"] == {"dataset": "traffic_police.driving_licences", "role": "", "partition": "2025-06-02",
                                "source_row": 7, "sha256": fake_sha("traffic_police.driving_licences", D1)}
        assert prov["birth_date"]["dataset"] == "traffic_police.driving_licences"

    long = provenance_as_of(engine, "person", D2)
    name_src = one(long, id_number=X, attribute="name")
    assert (name_src["dataset"], name_src["partition"], name_src["source_row"]) == (
        "traffic_police.driving_licences", D1, 7)
    # every department's own version is kept
    delivered = source_versions(engine, "person", X)
    assert sorted(delivered["_dataset"]) == [
        "social_security.insured_persons", "traffic_police.driving_licences", "transport.practitioner_qualifications"]
    assert set(delivered.loc[delivered["_dataset"] == "social_security.insured_persons", "name"]) == {"张叁"}


def test_a_lower_priority_source_fills_what_the_higher_one_lacks(engine):
    # social security alone: its name and birth date; sex 9 (unknown) is not a sex of the base
    merge_partition(engine, "social_security.insured_persons", D1, hand_frame(
        "social_security.insured_persons", D1, [insured(X, "张叁", sex="9", birth="1990-01-02")]))
    x = one(as_of(engine, "person", D1), id_number=X)
    assert (x["name"], x["birth_date"], x["placeholder"]) == ("张叁", date(1990, 1, 2), False)
    assert pd.isna(x["sex"]) and sources(engine, x["provenance"])["sex"] is None
    # transport outranks social security for the name, but says nothing about the birth date
    merge_partition(engine, "transport.practitioner_qualifications", D2, hand_frame(
        "transport.practitioner_qualifications", D2, [qualification("Q000001", X, "张山")]))
    x = one(as_of(engine, "person", D2), id_number=X)
    assert (x["name"], x["birth_date"]) == ("张山", date(1990, 1, 2))
    assert sources(engine, x["provenance"])["birth_date"]["dataset"] == "social_security.insured_persons"
    assert one(as_of(engine, "person", D1), id_number=X)["name"] == "张叁"


def test_the_newest_delivery_of_a_source_wins_and_history_is_kept(engine):
    merge_partition(engine, "traffic_police.driving_licences", D1, hand_frame(
        "traffic_police.driving_licences", D1, [licence(X, "张三", status="A")]))
    merge_partition(engine, "traffic_police.driving_licences", D3, hand_frame(
        "traffic_police.driving_licences", D3, [licence(X, "张三丰", status="E", updated="2025-06-04 08:00:00")]))
    assert as_of(engine, "person", date(2025, 6, 1)).empty  # nothing delivered yet
    assert one(as_of(engine, "person", D2), id_number=X)["name"] == "张三"
    assert one(as_of(engine, "person", D3), id_number=X)["name"] == "张三丰"
    cert = lambda d: one(as_of(engine, "certificate", d), cert_type="driving_licence", cert_no=X)  # noqa: E731
    assert (cert(D2)["status"], cert(D3)["status"], cert(D3)["source_status"]) == ("valid", "revoked", "E")
    versions = record_versions(engine, "person", X)
    assert list(versions["name"]) == ["张三", "张三丰"]
    assert list(versions["_valid_from"]) == [D1, D3]
    assert versions["_valid_to"].iloc[0] == D3 and pd.isna(versions["_valid_to"].iloc[1])


def test_a_stale_redelivery_does_not_override_a_newer_update(engine):
    merge_partition(engine, "traffic_police.driving_licences", D2, hand_frame(
        "traffic_police.driving_licences", D2, [licence(X, "新名", updated="2025-06-03 08:00:00")]))
    merge_partition(engine, "traffic_police.driving_licences", D3, hand_frame(
        "traffic_police.driving_licences", D3, [licence(X, "旧名", updated="2025-05-01 08:00:00")]))
    assert one(as_of(engine, "person", D3), id_number=X)["name"] == "新名"


def test_certificate_status_mapping_and_holders(engine):
    merge_partition(engine, "transport.road_transport_permits", D1, hand_frame(
        "transport.road_transport_permits", D1,
        [permit("220102000001", U, "长春货运有限公司", status="营运"),
         permit("220102000002", Y, "个体户李四", status="注销", plate="吉A54321"),
         permit("220102000003", U, "长春货运有限公司", status="吊销", plate="吉A11111")]))
    merge_partition(engine, "municipal.construction_permits", D1, hand_frame(
        "municipal.construction_permits", D1, [construction("220102202401010001", U, "长春货运有限公司")]))
    merge_partition(engine, "transport.practitioner_qualifications", D1, hand_frame(
        "transport.practitioner_qualifications", D1,
        [qualification("Q000001", X, "张三") | {"status": "revoked"}]))
    merge_partition(engine, "traffic_police.driving_licences", D1, hand_frame(
        "traffic_police.driving_licences", D1,
        [licence(X, "张三", status="A"), licence(Y, "李四", status="B"), licence("220102197001013331", "王五", status="G")]))
    certs = as_of(engine, "certificate", D1)
    got = {(r.cert_type, r.cert_no): (r.status, r.holder_id, r.holder_id_type) for r in certs.itertuples()}
    assert got == {
        ("road_transport_permit", "220102000001"): ("valid", U, "B"),
        ("road_transport_permit", "220102000002"): ("deregistered", Y, "A"),
        ("road_transport_permit", "220102000003"): ("revoked", U, "B"),
        ("construction_permit", "220102202401010001"): ("valid", U, "B"),
        ("practitioner_qualification", "Q000001"): ("revoked", X, "A"),
        ("driving_licence", X): ("valid", X, "A"),
        ("driving_licence", Y): ("expired", Y, "A"),
        ("driving_licence", "220102197001013331"): ("suspended", "220102197001013331", "A"),
    }


def test_referenced_entities_are_placeholders_until_delivered(engine):
    merge_partition(engine, "municipal.construction_permits", D1, hand_frame(
        "municipal.construction_permits", D1,
        [construction("220102202401010001", U, "长春货运公司", updated="2025-06-02 10:00:00")]))
    merge_partition(engine, "transport.road_transport_permits", D2, hand_frame(
        "transport.road_transport_permits", D2,
        [permit("220102000001", U, "长春货运有限公司", updated="2025-06-03 10:00:00"),
         permit("220102000002", Y, "李四", plate="吉A54321", updated="2025-06-03 11:00:00")]))
    # two references, neither outranks the other: the newest update wins
    u1 = one(as_of(engine, "legal_entity", D1), uscc=U)
    u2 = one(as_of(engine, "legal_entity", D2), uscc=U)
    assert (u1["placeholder"], u1["name"]) == (True, "长春货运公司")
    assert (u2["placeholder"], u2["name"]) == (True, "长春货运有限公司")
    assert sources(engine, u2["provenance"])["name"]["role"] == "operator"
    # an individual operator is a person placeholder, not a legal entity
    assert one(as_of(engine, "person", D2), id_number=Y)["placeholder"]
    assert Y not in set(as_of(engine, "legal_entity", D2)["uscc"])
    # the vehicle of the permit is known only by its plate
    v = one(as_of(engine, "vehicle", D2), plate_no="吉A12345")
    assert v["placeholder"] and pd.isna(v["owner_id"])
    # social security delivers the employer: known, and its name outranks the references
    merge_partition(engine, "social_security.employers", D3, hand_frame(
        "social_security.employers", D3, [employer("2201000001", U, "长春市货运有限责任公司")]))
    u3 = one(as_of(engine, "legal_entity", D3), uscc=U)
    assert (u3["placeholder"], u3["name"], u3["division_code"]) == (False, "长春市货运有限责任公司", "220104")
    assert one(as_of(engine, "legal_entity", D2), uscc=U)["placeholder"]  # the past is unchanged
    assert not as_of(engine, "legal_entity", D3, include_placeholders=False).empty


def test_household_members_become_person_placeholders(engine):
    app = {"application_id": "SA2025060200001", "applicant_id_number": X, "applicant_name": "张三",
           "household_id_numbers": json.dumps([X, Y]), "division_code": "220102",
           "applied_at": "2025-06-02 09:00:00", "updated_at": "2025-06-02 09:30:00"}
    merge_partition(engine, "social_security.assistance_applications", D1,
                    hand_frame("social_security.assistance_applications", D1, [app]))
    people = as_of(engine, "person", D1)
    assert set(people["id_number"]) == {X, Y}
    assert people["placeholder"].all()
    assert one(people, id_number=X)["name"] == "张三" and pd.isna(one(people, id_number=Y)["name"])
    stored = one(as_of(engine, "assistance_application", D1), application_id="SA2025060200001")
    assert json.loads(stored["household_id_numbers"]) == [X, Y]
    merge_partition(engine, "traffic_police.driving_licences", D2, hand_frame(
        "traffic_police.driving_licences", D2, [licence(Y, "李四")]))
    assert not one(as_of(engine, "person", D2), id_number=Y)["placeholder"]


def test_stats_count_inserted_updated_unchanged_and_deleted(engine):
    f1 = hand_frame("traffic_police.driving_licences", D1, [licence(X, "张三"), licence(Y, "李四")])
    s = merge_partition(engine, "traffic_police.driving_licences", D1, f1).as_dict()
    assert s["tables"]["person"] == {"versions": 2, "inserted": 2, "updated": 0, "unchanged": 0, "deleted": 0}
    assert json.loads(json.dumps(s)) == s
    s = merge_partition(engine, "traffic_police.driving_licences", D1, f1).as_dict()
    assert s["tables"]["person"] == {"versions": 2, "inserted": 0, "updated": 0, "unchanged": 2, "deleted": 0}
    f2 = hand_frame("traffic_police.driving_licences", D2, [licence(X, "张三", updated="2025-06-03 08:00:00")])
    s = merge_partition(engine, "traffic_police.driving_licences", D2, f2).as_dict()  # the same values again
    assert s["tables"]["person"] == {"versions": 1, "inserted": 0, "updated": 0, "unchanged": 1, "deleted": 0}
    f2b = hand_frame("traffic_police.driving_licences", D2, [licence(X, "张三丰", updated="2025-06-03 08:00:00")])
    s = merge_partition(engine, "traffic_police.driving_licences", D2, f2b).as_dict()  # re-delivered, changed
    assert s["tables"]["person"] == {"versions": 1, "inserted": 0, "updated": 1, "unchanged": 0, "deleted": 0}
    # day 1 re-delivered without Y: Y's only version goes, and with it Y
    f1b = hand_frame("traffic_police.driving_licences", D1, [licence(X, "张三")])
    s = merge_partition(engine, "traffic_police.driving_licences", D1, f1b).as_dict()
    assert s["tables"]["person"] == {"versions": 1, "inserted": 0, "updated": 0, "unchanged": 1, "deleted": 1}
    assert set(as_of(engine, "person", D2)["id_number"]) == {X}


def test_hand_partitions_in_any_order_give_the_same_database(engine):
    frames = [
        ("traffic_police.driving_licences", D1, hand_frame("traffic_police.driving_licences", D1, [licence(X, "张三")])),
        ("social_security.insured_persons", D2, hand_frame("social_security.insured_persons", D2,
                                                             [insured(X, "张叁", handled="2025-06-03 09:00:00")])),
        ("traffic_police.driving_licences", D3, hand_frame("traffic_police.driving_licences", D3,
                                                             [licence(X, "张三丰", updated="2025-06-04 08:00:00")])),
        ("transport.road_transport_permits", D2, hand_frame("transport.road_transport_permits", D2,
                                                              [permit("220102000001", X, "张三运输")])),
    ]
    for ds, day, f in frames:
        merge_partition(engine, ds, day, f)
    forward = dump(engine)
    from base_testkit import wipe

    wipe(engine)
    for ds, day, f in reversed(frames):
        merge_partition(engine, ds, day, f)
    assert dump(engine) == forward


def test_a_merge_can_be_restricted_to_some_tables(engine):
    frame = hand_frame("traffic_police.driving_licences", D1, [licence(X, "张三")])
    stats = merge_partition(engine, "traffic_police.driving_licences", D1, frame, tables=["person"])
    assert list(stats.tables) == ["person"]
    assert as_of(engine, "certificate", D1).empty and len(as_of(engine, "person", D1)) == 1
    merge_partition(engine, "traffic_police.driving_licences", D1, frame, tables=["certificate"])
    assert len(as_of(engine, "certificate", D1)) == 1
    with pytest.raises(ValueError, match="does not feed"):
        merge_partition(engine, "traffic_police.driving_licences", D1, frame, tables=["vehicle"])


def test_a_redelivery_of_the_same_values_starts_no_new_golden_version(engine):
    """A department that re-delivers an unchanged record (a daily full snapshot) adds a delivered version, not a
    golden one: the version, and its provenance, stay those of the day the values were first delivered."""
    for day, updated in ((D1, "2025-06-02 08:00:00"), (D2, "2025-06-03 08:00:00"), (D3, "2025-06-04 08:00:00")):
        merge_partition(engine, "traffic_police.driving_licences", day, hand_frame(
            "traffic_police.driving_licences", day, [licence(X, "张三", updated=updated)]))
    versions = record_versions(engine, "person", X)
    assert list(versions["_valid_from"]) == [D1] and pd.isna(versions["_valid_to"].iloc[0])
    assert sources(engine, versions["provenance"].iloc[0])["name"]["partition"] == "2025-06-02"
    assert len(source_versions(engine, "person", X)) == 3  # every delivery kept among the delivered versions


def test_the_same_value_won_from_another_source_starts_a_new_version(engine):
    """The value is the same, its source is not: a change of provenance that means something (who vouches for the
    value) starts a version; the re-delivery by the same source on the third day does not."""
    merge_partition(engine, "social_security.insured_persons", D1, hand_frame(
        "social_security.insured_persons", D1, [insured(X, "张三")]))
    merge_partition(engine, "traffic_police.driving_licences", D2, hand_frame(  # ranks above for the name
        "traffic_police.driving_licences", D2, [licence(X, "张三", updated="2025-06-03 08:00:00")]))
    merge_partition(engine, "traffic_police.driving_licences", D3, hand_frame(
        "traffic_police.driving_licences", D3, [licence(X, "张三", updated="2025-06-04 08:00:00")]))
    versions = record_versions(engine, "person", X)
    winners = [sources(engine, p)["name"]["dataset"] for p in versions["provenance"]]
    assert list(versions["name"]) == ["张三", "张三"]
    assert list(versions["_valid_from"]) == [D1, D2]
    assert winners == ["social_security.insured_persons", "traffic_police.driving_licences"]
