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


# The loader's fast paths (cheap prefilters before regexes) must never change an answer: compare
# them with the plain regex definitions on lines built to hit every rule.
_LINE_PARTS = st.sampled_from(
    [
        "Page",
        "page",
        " of ",
        "12",
        "3",
        "٣",
        ".",
        ". . . .",
        "....",
        "\t",
        "\u00a0",
        "  ",
        " ",
        "DRAFT",
        "Restricted",
        "Child Safeguarding Practice Review",
        "Ofsted",
        "-",
        "life-",
        "threatening",
        "Σ",
        "İ",
        "x",
    ]
)
_LINES = st.lists(_LINE_PARTS, max_size=8).map("".join)


def _plain_noise(line, running):
    from themes.segment import _BANNER, _DOT_LEADER, _PAGE_NO, _edge_key

    stripped = line.strip()
    if not stripped:
        return False
    return (
        _edge_key(stripped) in running
        or bool(_PAGE_NO.match(stripped))
        or bool(_BANNER.match(stripped))
        or bool(_DOT_LEADER.search(stripped) and len(stripped) < 140)
    )


@settings(max_examples=300, deadline=None)
@given(_LINES, st.lists(_LINES, max_size=4))
def test_noise_line_prefilters_agree_with_the_plain_rules(line, running_lines):
    from themes.segment import _edge_key, _is_noise_line

    running = {_edge_key(x) for x in running_lines if len(_edge_key(x)) > 1}
    if len(running_lines) % 2:  # sometimes the line itself is a running header
        running.add(_edge_key(line))
    starts = {key[:1] for key in running}
    assert _is_noise_line(line, running, starts) == _plain_noise(line, running)


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINES, max_size=6), st.booleans())
def test_join_lines_fast_paths_agree_with_the_plain_rules(lines, marked):
    from themes.segment import _TRAILING_HYPHEN, _WS, _join_lines

    out = ""
    for ln in lines:
        ln = _WS.sub(" ", ln.strip())
        if not ln:
            continue
        if out.endswith("\ufffe"):
            out = out[:-1] + ln
        elif _TRAILING_HYPHEN.search(out) and ln[:1].islower():
            out = out + ln if marked else out[:-1] + ln
        else:
            out = f"{out} {ln}" if out else ln
    assert _join_lines(lines, marked) == out.replace("\ufffe", "")
