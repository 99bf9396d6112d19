"""The thematic summary a national panel can publish: Markdown and a self-contained HTML page.

What it says, in order: what the corpus is; the headline themes with prevalence, interval and
direction of travel, each with two or three verbatim quotes cited as review, year and paragraph;
what the reviews recommended; the recurring lessons; emergent themes; method and limitations
(accuracy figures and the change of review regimes); and the run manifest.

Quotes are checked twice: the sentence must occur verbatim in the passage text loaded from the
report, and the passage must pass the personal-data check (:mod:`themes.privacy`). Passages that
fail the second check are listed for the user instead of quoted.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from themes import trends

QUOTE_SECTIONS = ("findings", "lessons", "analysis")
HEADLINE_MIN_WORDS, HEADLINE_MAX_WORDS = 10, 70


@dataclass
class SummaryInputs:
    """Everything the summary draws on. Column contracts are those of the producing stages.

    Attributes:
        reports: Loader reports table.
        passages: Loader passages table.
        mentions: Tagger mentions (report_id, passage_id, theme_id, polarity, sentence,
            section_type, para_no, counted).
        report_themes: review_id, report_id, theme_id, present.
        theme_labels: Display label per theme id (from the codebook).
        theme_families: practice | characteristic per theme id.
        recommendations: Tagged recommendation items (report_id, rec_types as lists) or None.
        rec_type_labels: Display label per recommendation type id.
        topics: Topic table with columns Topic, Name, Count, emergent (optional).
        evaluation: Accuracy figures, e.g. {"passage_micro_f1": 0.9, ...} (optional).
        run_manifest: Provenance (corpus checksum, codebook version, versions, date).
        corpus_note: A sentence about the corpus (e.g. that the bundled corpus is fictional).
    """

    reports: pd.DataFrame
    passages: pd.DataFrame
    mentions: pd.DataFrame
    report_themes: pd.DataFrame
    theme_labels: dict[str, str]
    theme_families: dict[str, str] = field(default_factory=dict)
    recommendations: pd.DataFrame | None = None
    rec_type_labels: dict[str, str] = field(default_factory=dict)
    topics: pd.DataFrame | None = None
    evaluation: dict | None = None
    run_manifest: dict = field(default_factory=dict)
    corpus_note: str | None = None


@dataclass
class Summary:
    """The rendered summary and the tables behind it."""

    markdown: str
    html: str
    headline: pd.DataFrame
    quotes: pd.DataFrame
    withheld: pd.DataFrame
    figures: dict[str, bytes]


def _pct(x: float) -> str:
    return "–" if pd.isna(x) else f"{100 * x:.0f}%"


def _direction_words(row) -> str:
    if row.get("direction") == "rising":
        return f"rising (odds ×{row['odds_ratio_per_decade']:.1f} per decade)"
    if row.get("direction") == "falling":
        return f"falling (odds ×{row['odds_ratio_per_decade']:.2f} per decade)"
    return "no clear trend"


def select_quotes(
    inputs: SummaryInputs,
    theme_id: str,
    *,
    n: int = 3,
    flagged_passages: set[str] | frozenset = frozenset(),
) -> list[dict]:
    """Choose up to ``n`` verbatim concern sentences for a theme, from different reviews.

    A sentence qualifies when it comes from a counted concern mention in findings, lessons or
    analysis, has 10-70 words, occurs verbatim in its passage, and its passage is not flagged by the
    personal-data check. Findings and lessons are preferred; ties go to the earliest paragraph.
    """
    m = inputs.mentions
    rows = m[
        (m["theme_id"] == theme_id) & (m["polarity"] == "concern") & (m["counted"].astype(bool))
    ]
    rows = rows[rows["section_type"].isin(QUOTE_SECTIONS)]
    if rows.empty:
        return []
    passages = inputs.passages.set_index("passage_id")
    reports = inputs.reports.set_index("report_id")
    rank = {s: i for i, s in enumerate(QUOTE_SECTIONS)}
    rows = rows.assign(_rank=rows["section_type"].map(rank)).sort_values(
        ["_rank", "report_id", "passage_id"]
    )
    chosen, reviews_used = [], set()
    for row in rows.itertuples(index=False):
        if row.passage_id in flagged_passages or row.passage_id not in passages.index:
            continue
        sentence = str(row.sentence).strip()
        words = len(sentence.split())
        if not HEADLINE_MIN_WORDS <= words <= HEADLINE_MAX_WORDS:
            continue
        text = passages.loc[row.passage_id, "text"]
        if sentence not in text:  # verbatim or not at all
            continue
        report = reports.loc[row.report_id]
        if report["review_id"] in reviews_used:
            continue
        reviews_used.add(report["review_id"])
        chosen.append(
            {
                "theme_id": theme_id,
                "quote": sentence,
                "report_id": row.report_id,
                "passage_id": row.passage_id,
                "review_id": report["review_id"],
                "title": report.get("title"),
                "partnership": report.get("partnership"),
                "publication_year": report.get("publication_year"),
                "para_no": passages.loc[row.passage_id, "para_no"],
                "page": passages.loc[row.passage_id, "page"],
            }
        )
        if len(chosen) >= n:
            break
    return chosen


def _citation(q: dict) -> str:
    para = f", paragraph {q['para_no']}" if q.get("para_no") else f", page {q['page']}"
    year = int(q["publication_year"]) if pd.notna(q.get("publication_year")) else "n.d."
    return (
        f"{q.get('title') or q['report_id']} "
        f"({q.get('partnership') or 'partnership not stated'}, {year}{para})"
    )


def _figure_png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    return buffer.getvalue()


def build_summary(
    inputs: SummaryInputs, *, n_headline: int = 8, quotes_per_theme: int = 3
) -> Summary:
    """Assemble the summary's tables, figures and text.

    Args:
        inputs: The tables and provenance (see :class:`SummaryInputs`).
        n_headline: How many of the most prevalent themes to feature.
        quotes_per_theme: Verbatim quotes per headline theme (2-3 recommended).
    """
    from themes import plots
    from themes.privacy import check_passages

    reviews = trends.primary_reviews(inputs.reports)
    theme_ids = sorted(inputs.theme_labels)
    presence = trends.presence_from_report_themes(inputs.report_themes, theme_ids)
    presence = presence[presence["review_id"].isin(reviews["review_id"])]
    n_reviews = reviews["review_id"].nunique()
    overall = presence.groupby("theme_id")["present"].agg(["sum", "count"]).reset_index()
    overall["prevalence"] = overall["sum"] / overall["count"]
    cis = [
        trends.wilson_interval(int(k), int(n))
        for k, n in zip(overall["sum"], overall["count"], strict=True)
    ]
    overall["ci_low"], overall["ci_high"] = [c[0] for c in cis], [c[1] for c in cis]
    trend = trends.trend_tests(presence, reviews)
    headline = (
        overall.merge(
            trend[["theme_id", "direction", "odds_ratio_per_decade", "p_adjusted"]],
            on="theme_id",
            how="left",
        )
        .sort_values(["prevalence", "theme_id"], ascending=[False, True])
        .head(n_headline)
        .reset_index(drop=True)
    )
    headline["label"] = headline["theme_id"].map(inputs.theme_labels)

    # Personal-data check on every passage we might quote, before choosing any quote.
    allowed = {
        r.report_id: [x for x in (r.child_pseudonym, r.partnership, r.title) if isinstance(x, str)]
        for r in inputs.reports.itertuples(index=False)
    }
    candidate_ids = set(
        inputs.mentions.loc[inputs.mentions["theme_id"].isin(headline["theme_id"]), "passage_id"]
    )
    candidates = inputs.passages[inputs.passages["passage_id"].isin(candidate_ids)]
    checked = check_passages(candidates, allowed_names_by_report=allowed)
    withheld = checked[~checked["ok"]].reset_index(drop=True)
    flagged = frozenset(withheld["passage_id"])
    quotes = [
        q
        for t in headline["theme_id"]
        for q in select_quotes(inputs, t, n=quotes_per_theme, flagged_passages=flagged)
    ]
    quotes_df = pd.DataFrame(
        quotes,
        columns=[
            "theme_id",
            "quote",
            "report_id",
            "passage_id",
            "review_id",
            "title",
            "partnership",
            "publication_year",
            "para_no",
            "page",
        ],
    )

    prevalence = trends.prevalence_by_year(presence, reviews)
    figures = {
        "prevalence_over_time": _figure_png(
            plots.plot_prevalence_over_time(
                prevalence, list(headline["theme_id"]), labels=inputs.theme_labels
            )
        ),
        "direction_of_travel": _figure_png(
            plots.plot_trend_odds_ratios(trend, labels=inputs.theme_labels)
        ),
        "cooccurrence": _figure_png(
            plots.plot_cooccurrence_heatmap(
                trends.cooccurrence(presence, theme_ids),
                themes=theme_ids,
                labels=inputs.theme_labels,
            )
        ),
    }
    lessons = trends.recurring_lessons(
        presence,
        reviews,
        _recs_for_lessons(inputs),
        theme_ids=[t for t in theme_ids if inputs.theme_families.get(t, "practice") == "practice"],
    )
    markdown = _markdown(
        inputs,
        reviews,
        n_reviews,
        headline,
        quotes_df,
        withheld,
        lessons,
        figure_ref=lambda name: f"figures/{name}.png",
    )
    page = _html(
        inputs,
        markdown_sections=_sections(
            inputs, reviews, n_reviews, headline, quotes_df, withheld, lessons
        ),
        figures=figures,
    )
    return Summary(
        markdown=markdown,
        html=page,
        headline=headline,
        quotes=quotes_df,
        withheld=withheld,
        figures=figures,
    )


def _recs_for_lessons(inputs: SummaryInputs) -> pd.DataFrame | None:
    recs = inputs.recommendations
    if recs is None or recs.empty or "theme_ids" not in recs.columns:
        return None
    review_of = inputs.reports.set_index("report_id")["review_id"]
    return recs.assign(review_id=recs["report_id"].map(review_of))


# --------------------------------------------------------------------------------- text
def _sections(
    inputs, reviews, n_reviews, headline, quotes, withheld, lessons
) -> list[tuple[str, list]]:
    """The summary as (heading, blocks).

    Blocks are ("p", text), ("table", DataFrame), ("quote", dict), ("figure", name).
    """
    years = reviews["publication_year"].dropna().astype(int)
    out: list[tuple[str, list]] = []
    about = [
        (
            "p",
            f"This summary draws on {n_reviews} published case reviews "
            f"({len(inputs.reports)} documents) published between {years.min()} and "
            f"{years.max()}. Counts are of reviews, not documents: an executive summary and an "
            "overview report of the same review count once.",
        ),
        ("table", reviews.groupby("nation").size().rename("reviews").reset_index()),
        ("table", reviews.groupby("review_type").size().rename("reviews").reset_index()),
    ]
    if inputs.corpus_note:
        about.insert(1, ("p", inputs.corpus_note))
    out.append(("What the reviews are", about))

    head_table = pd.DataFrame(
        {
            "Theme": headline["label"],
            "Share of reviews": [
                f"{_pct(p)} ({_pct(lo)}–{_pct(hi)})"
                for p, lo, hi in zip(
                    headline["prevalence"], headline["ci_low"], headline["ci_high"], strict=True
                )
            ],
            "Reviews": headline["sum"].astype(int),
            "Direction of travel": [_direction_words(r) for r in headline.to_dict("records")],
        }
    )
    blocks: list = [
        (
            "p",
            "The themes found in the most reviews, with 95% Wilson intervals. Direction of travel "
            "is a logistic regression of presence on publication year with a Benjamini-Hochberg "
            "correction across themes.",
        ),
        ("table", head_table),
        ("figure", "prevalence_over_time"),
        ("figure", "direction_of_travel"),
    ]
    for row in headline.itertuples(index=False):
        blocks.append(("h3", row.label))
        theme_quotes = quotes[quotes["theme_id"] == row.theme_id]
        if theme_quotes.empty:
            blocks.append(
                ("p", "No quotable sentence passed the verbatim and personal-data checks.")
            )
        for q in theme_quotes.to_dict("records"):
            blocks.append(("quote", q))
    out.append(("Headline themes", blocks))

    recs = inputs.recommendations
    if recs is not None and len(recs) and "rec_types" in recs.columns:
        exploded = recs.explode("rec_types").dropna(subset=["rec_types"])
        review_of = inputs.reports.set_index("report_id")["review_id"]
        exploded = exploded.assign(review_id=exploded["report_id"].map(review_of))
        table = (
            exploded.groupby("rec_types")
            .agg(recommendations=("report_id", "size"), reviews=("review_id", "nunique"))
            .reset_index()
            .sort_values("recommendations", ascending=False)
        )
        table["Type"] = table["rec_types"].map(lambda t: inputs.rec_type_labels.get(t, t))
        table["Share of reviews"] = (table["reviews"] / n_reviews).map(_pct)
        out.append(
            (
                "What the reviews recommended",
                [
                    (
                        "p",
                        f"{len(recs)} recommendations were classified "
                        "into the recommendation taxonomy.",
                    ),
                    ("table", table[["Type", "recommendations", "reviews", "Share of reviews"]]),
                ],
            )
        )

    lesson_table = lessons.head(10).assign(Theme=lambda d: d["theme_id"].map(inputs.theme_labels))
    out.append(
        (
            "Recurring lessons",
            [
                (
                    "p",
                    "Practice themes that recur across the most years and partnerships, with the "
                    "kinds of recommendation most often made in response: the lessons that keep "
                    "coming back.",
                ),
                (
                    "table",
                    lesson_table[
                        [
                            "Theme",
                            "n_reviews",
                            "n_years",
                            "first_year",
                            "last_year",
                            "n_partnerships",
                            "top_recommendation_types",
                        ]
                    ],
                ),
                ("figure", "cooccurrence"),
            ],
        )
    )

    if inputs.topics is not None and "emergent" in inputs.topics.columns:
        emergent = inputs.topics[inputs.topics["emergent"].astype(bool)]
        blocks = [
            (
                "p",
                f"Topic modelling (BERTopic) found {len(inputs.topics)} topics; {len(emergent)} "
                "match no codebook theme closely and are candidates for new codes.",
            )
        ]
        if len(emergent):
            blocks.append(
                (
                    "table",
                    emergent[[c for c in ("Topic", "Count", "Name") if c in emergent.columns]],
                )
            )
        out.append(("Emergent themes", blocks))

    limits = [
        (
            "p",
            "Themes were tagged automatically from a versioned codebook by rules (with negation "
            "and section awareness) combined with a supervised classifier; every count can be "
            "traced to the sentences behind it. A review counts as having a theme when at least "
            "one concern or good-practice mention occurs outside contents, terms of reference and "
            "references.",
        ),
        ("p", trends.REGIME_CAVEAT),
    ]
    if inputs.evaluation:
        e = inputs.evaluation
        limits.append(
            (
                "p",
                "Measured accuracy against held-out gold labels (the bundled fictional test "
                "split and, where named, texts written independently of the tagger's training "
                "material): "
                + "; ".join(
                    f"{k.replace('_', ' ')} {v:.2f}" for k, v in e.items() if isinstance(v, float)
                )
                + ".",
            )
        )
    if len(withheld):
        limits.append(
            (
                "p",
                f"{len(withheld)} passage(s) were not quoted because "
                "the personal-data check flagged them; they are listed below for review.",
            )
        )
        limits.append(
            (
                "table",
                withheld[["report_id", "passage_id", "kinds"]].assign(
                    kinds=lambda d: d["kinds"].map(", ".join)
                ),
            )
        )
    out.append(("Method and limitations", limits))
    manifest = pd.DataFrame(
        sorted(
            (k, str(v)) for k, v in inputs.run_manifest.items() if not isinstance(v, dict | list)
        ),
        columns=["item", "value"],
    )
    out.append(("Run manifest", [("table", manifest)]))
    return out


def _markdown(inputs, reviews, n_reviews, headline, quotes, withheld, lessons, figure_ref) -> str:
    years = reviews["publication_year"].dropna().astype(int)
    lines = [
        f"# Thematic summary of {n_reviews} child safeguarding case reviews, "
        f"{years.min()}–{years.max()}",
        "",
    ]
    for heading, blocks in _sections(
        inputs, reviews, n_reviews, headline, quotes, withheld, lessons
    ):
        lines += [f"## {heading}", ""]
        for kind, value in blocks:
            if kind == "p":
                lines += [value, ""]
            elif kind == "h3":
                lines += [f"### {value}", ""]
            elif kind == "table":
                lines += [markdown_table(value), ""]
            elif kind == "quote":
                lines += [f"> “{value['quote']}”  ", f"> — {_citation(value)}", ""]
            elif kind == "figure":
                lines += [f"![{value.replace('_', ' ')}]({figure_ref(value)})", ""]
    return "\n".join(lines)


def markdown_table(frame: pd.DataFrame) -> str:
    r"""A GitHub-flavoured Markdown table (pipes in cells escaped).

    Examples:
        >>> print(markdown_table(pd.DataFrame({"a": [1], "b": ["x|y"]})))
        | a | b |
        |---|---|
        | 1 | x\|y |
    """

    def cell(value) -> str:
        if isinstance(value, list | tuple | set):
            value = ", ".join(map(str, value))
        elif value is None or (isinstance(value, float) and pd.isna(value)):
            return ""
        return str(value).replace("|", "\\|").replace("\n", " ")

    header = "| " + " | ".join(cell(c) for c in frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


_CSS = """
body{font-family:Georgia,serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b;\
line-height:1.5}
h1,h2,h3{font-family:Helvetica,Arial,sans-serif;color:#1f3b57}
table{border-collapse:collapse;margin:1rem 0;font-family:Helvetica,Arial,sans-serif;font-size:.9rem}
th,td{border:1px solid #c8c8c8;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#eef2f6}
blockquote{border-left:4px solid #1f5f8b;margin:1rem 0;padding:.2rem 1rem;background:#f7f9fb}
blockquote cite{display:block;font-size:.85rem;color:#555;margin-top:.3rem}
img{max-width:100%;height:auto;border:1px solid #ddd}
"""


def _html(inputs, markdown_sections, figures: dict[str, bytes]) -> str:
    title_reviews = trends.primary_reviews(inputs.reports)
    years = title_reviews["publication_year"].dropna().astype(int)
    title = (
        f"Thematic summary of {title_reviews['review_id'].nunique()} child safeguarding case "
        f"reviews, {years.min()}–{years.max()}"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en-GB"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for heading, blocks in markdown_sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        for kind, value in blocks:
            if kind == "p":
                parts.append(f"<p>{html.escape(value)}</p>")
            elif kind == "h3":
                parts.append(f"<h3>{html.escape(value)}</h3>")
            elif kind == "table":
                parts.append(value.to_html(index=False, border=0, escape=True))
            elif kind == "quote":
                parts.append(
                    f"<blockquote><p>“{html.escape(value['quote'])}”</p><cite>{html.escape(_citation(value))}</cite></blockquote>"
                )
            elif kind == "figure":
                data = base64.b64encode(figures[value]).decode("ascii")
                parts.append(
                    f'<figure><img alt="{html.escape(value.replace("_", " "))}" '
                    f'src="data:image/png;base64,{data}"></figure>'
                )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_summary(summary: Summary, out: str | Path) -> dict[str, Path]:
    """Write summary.html (self-contained), summary.md with figures/, and the quotes table."""
    out = Path(out)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    paths = {
        "html": out / "summary.html",
        "markdown": out / "summary.md",
        "quotes": out / "summary_quotes.csv",
    }
    paths["html"].write_text(summary.html, encoding="utf-8")
    paths["markdown"].write_text(summary.markdown, encoding="utf-8")
    summary.quotes.to_csv(paths["quotes"], index=False)
    if len(summary.withheld):
        paths["withheld"] = out / "withheld_passages.csv"
        summary.withheld.to_csv(paths["withheld"], index=False)
    for name, data in summary.figures.items():
        (out / "figures" / f"{name}.png").write_bytes(data)
    return paths
