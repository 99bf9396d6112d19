"""The personal-data check run before any passage is quoted or exported."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from themes.privacy import (
    FIRST_NAMES,
    KINDS,
    Finding,
    allowed_names_from_reports,
    check_passages,
    find_personal_data,
    mask_personal_data,
)

REVIEW_PARAGRAPH = (
    "4.12 In March 2019 the health visitor completed a home visit and noted that Child M was "
    "underweight. Mother said that Father had moved out, but the GP practice was not told and no "
    "referral was made to Children's Social Care. The Westmoor Safeguarding Children Partnership "
    "commissioned this Local Child Safeguarding Practice Review in June 2020; the independent "
    "reviewer met Young Person F, Baby T's maternal grandmother and practitioners from the Police, "
    "the Multi-Agency Safeguarding Hub and St Mary's Hospital on Tuesday 3 March 2020."
)


def _kinds(text: str, **kwargs) -> list[tuple[str, str]]:
    return [(f.kind, f.match) for f in find_personal_data(text, **kwargs)]


@pytest.mark.parametrize(
    ("text", "kind", "match"),
    [
        ("The letter was signed by Sarah Jones on behalf of the school.", "name", "Sarah Jones"),
        ("Mohammed Ali attended the strategy meeting.", "name", "Mohammed Ali"),
        ("Sarah Jones's mother was present.", "name", "Sarah Jones"),
        ("It was Mrs Hughes who called.", "name", "Mrs Hughes"),
        ("Dr O'Brien examined the baby.", "name", "Dr O'Brien"),
        ("Mrs Sarah Smith attended.", "name", "Mrs Sarah Smith"),
        ("PC Jones attended the address.", "name", "PC Jones"),
        ("Date of birth: 12/03/2015.", "date_of_birth", "Date of birth: 12/03/2015"),
        ("Child M (DOB 12.03.15) was seen.", "date_of_birth", "DOB 12.03.15"),
        ("She was born on 12/03/2015 at home.", "date_of_birth", "born on 12/03/2015"),
        ("He was born 3 March 2015.", "date_of_birth", "born 3 March 2015"),
        ("born on 3rd March 2015", "date_of_birth", "born on 3rd March 2015"),
        ("The family moved to 12 Acacia Avenue in 2018.", "address", "12 Acacia Avenue"),
        ("They lived at 3a Mill Court.", "address", "3a Mill Court"),
        ("They lived at Flat 3, Rosebank House.", "address", "Flat 3, Rosebank House"),
        ("The postcode was LS1 4AP.", "postcode", "LS1 4AP"),
        ("Delivered to SW1A 1AA.", "postcode", "SW1A 1AA"),
        ("Call 020 7946 0018.", "phone", "020 7946 0018"),
        ("Mobile 07700 900123.", "phone", "07700 900123"),
        ("Mobile 07700900123.", "phone", "07700900123"),
        ("Ring +44 (0)7700 900123 now.", "phone", "+44 (0)7700 900123"),
        ("Ring +44 20 7946 0018 now.", "phone", "+44 20 7946 0018"),
        ("Ring (01632) 960123.", "phone", "(01632) 960123"),
        ("Write to j.smith@example.org.uk today.", "email", "j.smith@example.org.uk"),
        ("NHS number 943 476 5919.", "nhs_number", "943 476 5919"),
        ("NHS number 9434765919.", "nhs_number", "9434765919"),
        ("NHS number 943-476-5919.", "nhs_number", "943-476-5919"),
    ],
)
def test_each_kind_of_personal_data_is_found(text, kind, match):
    findings = find_personal_data(text)
    assert (kind, match) in [(f.kind, f.match) for f in findings]
    for f in findings:
        assert text[f.start : f.end] == f.match


@pytest.mark.parametrize(
    "text",
    [
        "Child M was seen at home.",
        "Mr K did not attend.",
        "Mr K.",
        "Baby T was born prematurely.",
        "Young Person F went missing.",
        "Mother and Father were both present.",
        "the health visitor",
        "The Health Visitor and the Social Worker attended.",
        "Westmoor Safeguarding Children Partnership",
        "March 2019",
        "She was born in March 2015.",
        "The GP did not record the date of birth.",
        "Social Worker 2 and Police Officer 1 visited.",
        "There were two Family Court hearings.",
        "St Thomas Hospital and Rachel McMillan Nursery School",
        "Grace Road",
        "The NSPCC helpline is 0808 800 5000.",
        "Previous learning from the Victoria Climbié inquiry applies.",
        "NHS number 943 476 5918.",  # invalid check digit
        "Reference 1234567890.",  # invalid check digit
        "SW1A",  # a partial postcode
        REVIEW_PARAGRAPH,
    ],
)
def test_review_prose_and_pseudonyms_are_not_flagged(text):
    assert find_personal_data(text) == []


def test_nhs_number_needs_a_valid_modulus_11_check_digit():
    # 9,4,3,4,7,6,5,9,1 weighted 10..2 sums to 299; 299 mod 11 = 2; 11 - 2 = 9.
    assert _kinds("943 476 5919") == [("nhs_number", "943 476 5919")]
    for wrong in range(10):
        if wrong != 9:
            assert _kinds(f"943 476 591{wrong}") == []
    # Mixed separators are not an NHS number layout.
    assert _kinds("943 476-5919") == []


def test_first_name_list_is_large_and_avoids_everyday_words():
    assert len(FIRST_NAMES) >= 200
    assert not {"Will", "Mark", "Hope", "Faith", "May", "June", "April", "August"} & FIRST_NAMES


def test_allowed_names_drop_pseudonyms_and_partnership_names():
    text = "Sarah Jones (the review's pseudonym for the mother) met Emma Brown."
    assert _kinds(text) == [("name", "Sarah Jones"), ("name", "Emma Brown")]
    assert _kinds(text, allowed_names=["Sarah Jones"]) == [("name", "Emma Brown")]


def test_findings_are_sorted_and_reported_once():
    text = "Mrs Sarah Smith (DOB 01/02/1990), 12 Acacia Avenue, LS1 4AP, sarah@example.com"
    findings = find_personal_data(text)
    assert [f.kind for f in findings] == ["name", "date_of_birth", "address", "postcode", "email"]
    assert [f.start for f in findings] == sorted(f.start for f in findings)
    assert all(f.kind in KINDS for f in findings)


def test_mask_keeps_length_and_offsets():
    text = "Call 07700 900123 about Child M."
    masked = mask_personal_data(text, find_personal_data(text))
    assert len(masked) == len(text)
    assert "07700" not in masked and masked.endswith("about Child M.")
    assert mask_personal_data(text, [Finding("phone", "Call", 0, 4)], "*") == "****" + text[4:]


def test_check_passages_reports_each_passage_in_order():
    passages = pd.DataFrame(
        {
            "report_id": ["r1", "r1", "r2"],
            "passage_id": ["r1:0001", "r1:0002", "r2:0001"],
            "text": [
                "Child M was seen by the health visitor.",
                "Sarah Jones rang on 07700 900123.",
                "Sarah Jones attended.",
            ],
        }
    )
    before = passages.copy()
    result = check_passages(passages, {"r2": ["Sarah Jones"]})
    pd.testing.assert_frame_equal(passages, before)
    assert list(result.columns) == ["report_id", "passage_id", "kinds", "matches", "ok"]
    assert result["passage_id"].tolist() == ["r1:0001", "r1:0002", "r2:0001"]
    assert result["ok"].tolist() == [True, False, True]
    assert result.loc[1, "kinds"] == ["name", "phone"]
    assert result.loc[1, "matches"] == ["Sarah Jones", "07700 900123"]


def test_check_passages_names_missing_columns():
    with pytest.raises(ValueError, match="passage_id"):
        check_passages(pd.DataFrame({"report_id": ["r1"], "text": ["x"]}))


def test_allowed_names_come_from_pseudonym_and_partnership():
    reports = pd.DataFrame(
        {
            "report_id": ["r1", "r2"],
            "child_pseudonym": ["Child Sarah", None],
            "partnership": ["Westmoor Safeguarding Children Partnership", ""],
        }
    )
    assert allowed_names_from_reports(reports) == {
        "r1": ["Child Sarah", "Westmoor Safeguarding Children Partnership"],
        "r2": [],
    }


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_findings_always_point_at_their_text(text):
    for finding in find_personal_data(text):
        assert text[finding.start : finding.end] == finding.match
        assert finding.kind in KINDS
