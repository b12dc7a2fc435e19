"""No raw ID number, phone number or name in a lineage event: free text is masked with standards.masking."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lineage_testkit import asset_event

from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.lineage import Assertion, DatasetRef, Purpose, mask_free_text, run_event, run_id_for, validate_event
from jilin_pipelines.standards import mask_value

ID = "220102199003071234"
ID_X = "22010219900307123X"
NAME = "欧阳娜娜"


def test_fail_event_carries_only_masked_id_and_name(spec_dir):
    error = ValueError(f"row 17: owner_id={ID}, owner_name={NAME}: owner not in the population base")
    trace = f'Traceback (most recent call last):\n  File "merge.py", line 3\nKeyError: {{"xm": "{NAME}", "sfzmhm": "{ID_X}"}}'
    event = run_event("FAIL", run_id=run_id_for("r"), job_name="base/person", error=error, stack_trace=trace)
    validate_event(event, spec_dir)
    facet = event["run"]["facets"]["errorMessage"]
    assert facet["message"] == (
        "ValueError: row 17: owner_id=220102********1234, owner_name=欧***: owner not in the population base"
    )
    assert '"xm": "欧***", "sfzmhm": "220102********123X"' in facet["stackTrace"]
    text = json.dumps(event, ensure_ascii=False)
    for secret in (ID, ID_X, NAME, "阳娜娜", "19900307"):
        assert secret not in text
    assert text.count("220102********") == 2


def test_assertion_texts_and_purposes_are_masked(spec_dir):
    ds = DatasetRef(
        "jilin://lake", "standardised/social_security/insured_persons", [("id_number", "string", None)],
        assertions=[Assertion("resident_id", False, "id_number", "error", "id_valid",
                              f"first bad value {ID_X}; holder phone 13912345678", expected="0", actual=f"AAC003={NAME}")],
    )
    event = run_event(
        "COMPLETE", run_id=run_id_for("r2"), job_name="social_security/standardised/insured_persons", outputs=[ds],
        purpose=Purpose("social_security_approval", f"审批 (申请人姓名：{NAME})", "《社会保险法》"),
    )
    validate_event(event, spec_dir)
    [assertion] = event["outputs"][0]["facets"]["dataQualityAssertions"]["assertions"]
    assert assertion["description"] == "first bad value 220102********123X; holder phone 139****5678"
    assert assertion["actual"] == "AAC003=欧***"
    assert event["run"]["facets"]["jilin_purpose"]["purpose"] == "审批 (申请人姓名：欧***)"
    text = json.dumps(event, ensure_ascii=False)
    assert ID_X not in text and NAME not in text and "13912345678" not in text


def test_the_sample_events_carry_no_identifier():
    for kind in ("raw", "standardised", "base", "scenario"):
        text = json.dumps(asset_event(kind, "FAIL", error=f"姓名：{NAME}，身份证号：{ID}"), ensure_ascii=False)
        assert ID not in text and NAME not in text
        assert "姓名：欧***，身份证号：220102********1234" in text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f"id {ID} bad", "id 220102********1234 bad"),
        (f"身份证号{ID_X}无效", "身份证号220102********123X无效"),
        ("old id 220102900307123.", "old id 220102*****7123."),
        ("２２０１０２１９９００３０７１２３４", "２２０１０２********１２３４"),
        ("call 13812345678 or +86 13812345678 or 0431-88886666",
         "call 138****5678 or +86********5678 or 043******6666"),
        ("employer 91220101MA0Y2K3L4P", "employer 912201********3L4P"),
        (f"{{'xm': '{NAME}', 'sfzmhm': '{ID}'}}", "{'xm': '欧***', 'sfzmhm': '220102********1234'}"),
        (f'{{"holderName": "李四", "holderId": "{ID}"}}', '{"holderName": "李*", "holderId": "220102********1234"}'),
        ("xm=买买提·艾力 zt=A", "xm=买***** zt=A"),
        ("姓名：张三，性别：男", "姓名：张*，性别：男"),
        ("applicant_name = 'John Smith'", "applicant_name = 'J*********'"),
        ("csrq=1990-03-07", "csrq=1*********"),
        # not personal: unchanged
        ("2025-06-02 delivered 1200 rows, 3 unparseable", "2025-06-02 delivered 1200 rows, 3 unparseable"),
        ("device 22010200001320000001 at 220102", "device 22010200001320000001 at 220102"),
        ("plate 吉A12345 type 02", "plate 吉A12345 type 02"),
        ("sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
         "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
        ("/srv/sources/traffic_police/motor_vehicles/motor_vehicles_20250602.csv line 4",
         "/srv/sources/traffic_police/motor_vehicles/motor_vehicles_20250602.csv line 4"),
        ("run 0b7a3f4e-2c1d-4e5f-8a9b-0c1d2e3f4a5b", "run 0b7a3f4e-2c1d-4e5f-8a9b-0c1d2e3f4a5b"),
    ],
)
def test_mask_free_text(text, masked):
    assert mask_free_text(text) == masked


def test_every_personal_field_of_the_catalogue_is_a_key():
    for entry in catalogue().entries:
        for f in entry.dataset.fields:
            if f.personal:
                for key in (f.source, f.name):
                    masked = mask_free_text(f"{key}=Wangwu,")
                    assert masked != f"{key}=Wangwu,", (entry.id, key)
                    assert masked.startswith(f"{key}=") and masked.endswith(",")


def test_masking_follows_the_shared_rules():
    """The masked forms are the ones standards.masking gives, not a rule of our own."""
    assert mask_free_text(f"x {ID} y") == f"x {mask_value(ID, 'resident_id')} y"
    assert mask_free_text("x 13812345678 y") == f"x {mask_value('13812345678', 'phone')} y"
    assert mask_free_text(f"xm={NAME}") == f"xm={mask_value(NAME, 'name')}"


_GAP = st.text(alphabet="，。 、:=号码的无效（）abc\n", max_size=8).filter(lambda s: not s[-1:].isalnum())


@settings(max_examples=200, deadline=None)
@given(
    before=_GAP,
    after=st.text(alphabet="，。 、:=号码的无效（）\n", max_size=8),
    digits=st.text(alphabet="0123456789", min_size=17, max_size=17),
    last=st.sampled_from("0123456789Xx"),
    old=st.booleans(),
)
def test_no_id_number_survives(before, after, digits, last, old):
    number = digits[:15] if old else digits + last
    masked = mask_free_text(f"{before}{number}{after}")
    assert number not in masked
    assert len(masked) == len(before) + len(number) + len(after)
    assert masked.startswith(before) and masked.endswith(after)
