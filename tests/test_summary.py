"""The thematic summary.

Verbatim, cited quotes; personal data withheld; renders in a real browser.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from themes.summary import (
    SummaryInputs,
    build_summary,
    markdown_table,
    select_quotes,
    write_summary,
)

THEMES = {"information_sharing": "Information sharing", "neglect": "Neglect"}


def _inputs(extra_passage: str | None = None) -> SummaryInputs:
    reports = pd.DataFrame(
        {
            "report_id": ["a-ov", "b-ov", "c-ov"],
            "review_id": ["a", "b", "c"],
            "document_kind": ["overview"] * 3,
            "publication_year": [2012, 2016, 2021],
            "title": ["SCR: Child A", "SCR: Child B", "LCSPR: Ella"],
            "partnership": ["Westmoor LSCB", "Northfen LSCB", "Copperdale SCP"],
            "child_pseudonym": ["Child A", "Child B", "Ella"],
            "nation": ["england"] * 3,
            "review_type": ["Serious Case Review"] * 2
            + ["Local Child Safeguarding Practice Review"],
        }
    )
    texts = [
        "The GP was never told about the referral, "
        "so nobody connected the bruising to the earlier concerns.",
        "Information held by the police was not passed to the health visitor "
        "before the home visit took place.",
        "The school did not know that the family had moved, "
        "because records were not transferred between areas.",
    ]
    passages = pd.DataFrame(
        {
            "report_id": ["a-ov", "b-ov", "c-ov"],
            "passage_id": ["a:1", "b:1", "c:1"],
            "section_type": ["findings"] * 3,
            "heading": ["Findings"] * 3,
            "para_no": ["7.1", "6.2", "5.4"],
            "page": [9, 7, 5],
            "char_start": [0, 0, 0],
            "char_end": [len(t) for t in texts],
            "text": texts,
        }
    )
    mentions = pd.DataFrame(
        {
            "report_id": ["a-ov", "b-ov", "c-ov"],
            "passage_id": ["a:1", "b:1", "c:1"],
            "theme_id": ["information_sharing"] * 3,
            "polarity": ["concern"] * 3,
            "sentence": texts,
            "section_type": ["findings"] * 3,
            "para_no": ["7.1", "6.2", "5.4"],
            "counted": [True] * 3,
        }
    )
    if extra_passage:
        passages.loc[2, "text"] = extra_passage
        mentions.loc[2, "sentence"] = extra_passage
    report_themes = pd.DataFrame(
        {
            "review_id": ["a", "b", "c", "a", "b", "c"],
            "report_id": ["a-ov", "b-ov", "c-ov"] * 2,
            "theme_id": ["information_sharing"] * 3 + ["neglect"] * 3,
            "present": [True, True, True, False, True, False],
        }
    )
    return SummaryInputs(
        reports,
        passages,
        mentions,
        report_themes,
        THEMES,
        run_manifest={"corpus_checksum": "abc123", "codebook_version": "1.0.0"},
    )


def test_quotes_are_verbatim_cited_and_from_different_reviews():
    quotes = select_quotes(_inputs(), "information_sharing", n=3)
    assert len(quotes) == 3 and len({q["review_id"] for q in quotes}) == 3
    inputs = _inputs()
    text = inputs.passages.set_index("passage_id")["text"]
    for q in quotes:
        assert q["quote"] in text[q["passage_id"]]
    assert quotes[0]["para_no"] == "7.1"


def test_a_sentence_that_is_not_in_the_passage_is_never_quoted():
    inputs = _inputs()
    inputs.mentions.loc[0, "sentence"] = (
        "A paraphrase of what the report said, which it never said in these words."
    )
    assert "a:1" not in {q["passage_id"] for q in select_quotes(inputs, "information_sharing")}


def test_passages_with_personal_data_are_listed_not_quoted():
    leaky = (
        "Information about Sarah Thompson, born on 12/03/2015, "
        "of 14 Acacia Avenue WM1 2AB was not shared with the school."
    )
    summary = build_summary(_inputs(extra_passage=leaky), n_headline=2)
    assert "Sarah Thompson" not in summary.html and "Sarah Thompson" not in summary.markdown
    assert "c:1" in set(summary.withheld["passage_id"])
    assert "c:1" not in set(summary.quotes["passage_id"])


def test_summary_states_corpus_headlines_method_and_manifest(tmp_path):
    summary = build_summary(_inputs(), n_headline=2)
    for needle in (
        "What the reviews are",
        "Headline themes",
        "Method and limitations",
        "Run manifest",
        "abc123",
        "Information sharing",
        "regimes changed",
    ):
        assert needle in summary.markdown, needle
    assert "<img" in summary.html and "http" not in re.sub(
        r"data:image/png;base64,[A-Za-z0-9+/=]+", "", summary.html
    )
    paths = write_summary(summary, tmp_path)
    assert paths["html"].is_file() and (tmp_path / "figures" / "prevalence_over_time.png").is_file()
    for q in summary.quotes["quote"]:
        assert q in summary.markdown


def test_markdown_table_escapes_pipes():
    assert markdown_table(pd.DataFrame({"a": ["x|y"]})).splitlines()[-1] == "| x\\|y |"


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
def test_summary_renders_in_headless_chromium_with_no_broken_image(tmp_path):
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail(
                "chromium is not installed; 'make test' installs it (Debian package chromium)"
            )
        pytest.skip("chromium not installed (run 'make setup-browser')")
    from PIL import Image, ImageStat

    summary = build_summary(_inputs(), n_headline=2)
    # A probe script records, after load, how many images failed to decode.
    probe = (
        "<script>window.addEventListener('load',()=>{const bad=[...document.images]"
        ".filter(i=>!(i.complete&&i.naturalWidth>0)).length;const d=document.createElement('div');"
        "d.id='probe';d.textContent='images:'+document.images.length+' broken:'+bad;"
        "document.body.appendChild(d);});</script>"
    )
    page = tmp_path / "summary.html"
    page.write_text(summary.html.replace("</body>", probe + "</body>"), encoding="utf-8")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run(
        [browser, *flags, "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    found = re.search(r"images:(\d+) broken:(\d+)", dom.stdout)
    assert found, dom.stderr[-2000:]
    assert int(found.group(1)) >= 3 and int(found.group(2)) == 0
    shot = tmp_path / "shot.png"
    subprocess.run(
        [browser, *flags, "--window-size=1200,2400", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=False,
    )
    image = Image.open(shot).convert("L")
    stat = ImageStat.Stat(image)
    assert stat.stddev[0] > 20, "screenshot looks blank"
    dark = sum(image.histogram()[:128]) / (image.width * image.height)
    assert dark > 0.01, "almost no text or figures drawn"


def test_embedded_figures_are_valid_pngs():
    from PIL import Image

    summary = build_summary(_inputs(), n_headline=2)
    blobs = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", summary.html)
    assert len(blobs) == 3
    for blob in blobs:
        Image.open(io.BytesIO(base64.b64decode(blob))).verify()


def test_bundled_summary_quotes_exist_in_the_corpus_text(tmp_path):
    """Every quote in a summary of the bundled corpus is verbatim text of a loaded passage."""
    from themes.explore import ensure_run

    run = ensure_run()
    summary_md = (Path(run.folder) / "summary" / "summary.md").read_text(encoding="utf-8")
    quotes = re.findall(r"^> “(.+)”  $", summary_md, flags=re.M)
    assert quotes
    corpus_text = "\n".join(run.passages["text"])
    for q in quotes:
        assert q in corpus_text
