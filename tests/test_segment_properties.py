"""Property-based tests of cleaning, numbering and segmentation."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from themes.segment import (
    SECTION_TYPES,
    assign_offsets,
    clean_pages,
    find_running_lines,
    normalise_text,
    section_type_for,
    segment_lines,
)

words = st.text(alphabet=string.ascii_lowercase, min_size=2, max_size=10)
sentence = st.lists(words, min_size=4, max_size=14).map(lambda ws: " ".join(ws).capitalize() + ".")


@given(st.text())
def test_normalise_is_idempotent_and_keeps_no_control_characters(text):
    once = normalise_text(text)
    assert normalise_text(once) == once
    assert all(ch in "\n\t\ufffe\f" or ord(ch) >= 32 for ch in once)


@given(st.text(max_size=200))
def test_section_type_is_always_a_known_type(heading):
    assert section_type_for(heading) in SECTION_TYPES


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(sentence, min_size=3, max_size=8), min_size=3, max_size=8), st.integers(1, 99)
)
def test_running_header_and_page_numbers_are_removed_from_every_page(pages, seed):
    header = "Serious Case Review Child Q – Overview Report"
    raw = [
        f"{header}\n" + "\n".join(p) + f"\nPage {i} of {len(pages)}" for i, p in enumerate(pages, 1)
    ]
    cleaned, removed = clean_pages(raw)
    assert header in removed
    for lines in cleaned:
        assert header not in lines
        assert not any(line.startswith("Page ") and " of " in line for line in lines)
    assert len(cleaned) == len(pages)


@settings(max_examples=60, deadline=None)
@given(st.lists(sentence, min_size=1, max_size=12), st.integers(1, 20))
def test_numbered_paragraphs_round_trip_through_segmentation(paras, section_no):
    lines = [f"{section_no} Analysis"]
    for i, text in enumerate(paras, start=1):
        # wrap each paragraph over several lines, as a PDF would
        ws = text.split()
        lines += [f"{section_no}.{i} " + " ".join(ws[:5])] + [
            " ".join(ws[j : j + 5]) for j in range(5, len(ws), 5)
        ]
    passages = segment_lines([lines])
    body = [p for p in passages if p.section_type == "analysis"]
    assert [p.para_no for p in body] == [f"{section_no}.{i}" for i in range(1, len(paras) + 1)]
    assert [p.text for p in body] == paras


@given(st.lists(st.text(min_size=1, max_size=50).filter(str.strip), max_size=20))
def test_offsets_always_slice_back_to_the_passage(texts):
    from themes.segment import Passage

    passages = [Passage("analysis", "h", None, 1, t) for t in texts]
    cleaned = assign_offsets(passages)
    for p in passages:
        assert cleaned[p.char_start : p.char_end] == p.text


@given(words, words)
def test_soft_hyphen_marks_join_words_without_a_hyphen(left, right):
    passages = segment_lines(
        [["1 Analysis", f"1.1 The {left}\ufffe", f"{right} was noted."]], marked_hyphens=True
    )
    assert passages[0].text == f"The {left}{right} was noted."


def test_hard_hyphen_at_line_end_is_kept_for_pdf_text():
    passages = segment_lines(
        [["1 Analysis", "1.1 She suffered life-", "threatening injuries."]], marked_hyphens=True
    )
    assert passages[0].text == "She suffered life-threatening injuries."


def test_contents_page_with_dot_leaders_is_dropped():
    contents = (
        "Contents\n1 Introduction . . . . . . . . 3\n2 Analysis . . . . . . . . 5\n"
        "3 Findings ........ 9\n4 Lessons ........ 11"
    )
    cleaned, _ = clean_pages(["Cover", contents, "1 Introduction\n1.1 Text of the report."])
    assert cleaned[1] == []


def test_running_lines_need_at_least_three_pages():
    assert find_running_lines([["Header", "a"], ["Header", "b"]]) == set()


def test_ligatures_and_redactions_are_normalised():
    assert normalise_text("e\ufb03cient \ufb01ndings") == "efficient findings"
    assert normalise_text("Mr \u2588\u2588\u2588\u2588 attended") == "Mr [redacted] attended"
