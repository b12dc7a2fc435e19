"""No golden record is keyed by an invalid identifier, whichever dataset names it: for any mix of valid and invalid
resident IDs (GB 11643), USCCs (GB 32100) and plates, in deliveries that create records (driving licences, employers,
motor vehicles) and in a scenario input (insured persons, never quarantined), the person, legal-entity and vehicle
tables hold exactly the valid keys. Valid and invalid identifiers are made here with python-stdnum's check
characters (the USCC's embedded organisation code by GB 11714's weights, written out below), not by the code under
test."""

from __future__ import annotations

from datetime import date

import pytest
from base_testkit import hand_frame, wipe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric, uscc

from jilin_pipelines.base import as_of, merge_partition

DAY = date(2025, 6, 2)
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def resident_id(serial: int, valid: bool) -> str:
    first17 = f"22010219{80 + serial % 20:02d}0101{serial % 1000:03d}"
    check = ric.calc_check_digit(first17 + "0")
    if not valid:  # any other check character
        check = "0123456789X"[("0123456789X".index(check) + 1 + serial % 10) % 11]
    return first17 + check


def organisation_code(body: str) -> str:
    """GB 11714: eight characters and their check character."""
    total = sum(ALPHABET.index(c) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    c = 11 - total % 11
    return body + ("X" if c == 10 else "0" if c == 11 else str(c))


def usc_code(serial: int, valid: bool) -> str:
    first17 = "91220101" + organisation_code(f"MA{serial:06d}")
    check = uscc.calc_check_digit(first17)
    if not valid:
        check = "0123456789ABCDEFGHJKLMNPQRTUWXY"[("0123456789ABCDEFGHJKLMNPQRTUWXY".index(check) + 1) % 31]
    return first17 + check


def plate(serial: int, valid: bool) -> str:
    # a Jilin plate has 吉, an issuing office letter in use, then five letters or digits; I and O never appear
    return f"吉A{serial % 100000:05d}" if valid else f"吉A{serial % 1000:03d}IO"


# serials under 980: resident_id(n), (n + 7) and (n + 13) stay under 1000, where distinct serials give distinct IDs
# (91,007 and 7 gave one ID, so a list "of distinct identifiers" could name one person twice)
identifiers = st.lists(st.tuples(st.integers(0, 979), st.booleans()), min_size=1, max_size=12,
                       unique_by=lambda t: t[0])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(licences=identifiers, insured=identifiers, employers=identifiers, vehicles=identifiers)
def test_no_golden_record_has_an_invalid_key(engine, licences, insured, employers, vehicles):
    wipe(engine)
    merge_partition(engine, "traffic_police.driving_licences", DAY, hand_frame("traffic_police.driving_licences", DAY, [
        {"id_number": resident_id(n, ok), "name": "张三", "sex": "1", "status_code": "A",
         "updated_at": "2025-06-02 08:00:00"} for n, ok in licences]))
    merge_partition(engine, "social_security.insured_persons", DAY, hand_frame("social_security.insured_persons", DAY, [
        {"person_no": f"P{n:08d}", "id_number": resident_id(n + 7, ok), "name": "李四", "sex": "2",
         "employer_no": "2201000001", "insurance_type": "110", "status": "1", "contribution_base": "3000",
         "start_date": "2015-01-01", "handled_at": "2025-06-02 09:00:00"} for n, ok in insured]))
    merge_partition(engine, "social_security.employers", DAY, hand_frame("social_security.employers", DAY, [
        {"employer_no": f"22{n:08d}", "uscc": usc_code(n, ok), "name": "某公司", "employer_type": "10",
         "division_code": "220104", "handled_at": "2025-06-02 09:00:00"} for n, ok in employers]))
    merge_partition(engine, "traffic_police.motor_vehicles", DAY, hand_frame("traffic_police.motor_vehicles", DAY, [
        {"plate_no": plate(n, ok), "plate_type": "02", "vehicle_type": "K33", "use_code": "A",
         "owner_id_type": "A", "owner_id": resident_id(n + 13, ok), "owner_name": "王五",
         "status_code": "A", "updated_at": "2025-06-02 10:00:00"} for n, ok in vehicles]))

    persons = set(as_of(engine, "person", DAY)["id_number"])
    expected = ({resident_id(n, ok) for n, ok in licences if ok} | {resident_id(n + 7, ok) for n, ok in insured if ok}
                | {resident_id(n + 13, ok) for n, ok in vehicles if ok})
    assert persons == expected
    assert set(as_of(engine, "legal_entity", DAY)["uscc"]) == {usc_code(n, ok) for n, ok in employers if ok}
    assert set(as_of(engine, "vehicle", DAY)["plate_no"]) == {plate(n, ok) for n, ok in vehicles if ok}
    # the scenario input's rows themselves are all kept (their approval answers invalid_id from them)
    assert len(as_of(engine, "insured_person", DAY)) == len(insured)


@pytest.mark.parametrize("valid", [True, False])
def test_the_identifiers_made_here_are_what_they_claim(valid):
    assert ric.is_valid(resident_id(12345, valid)) is valid
    assert uscc.is_valid(usc_code(42, valid)) is valid
