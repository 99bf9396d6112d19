"""Figures are checked structurally (panels, artists, labels), never by pixels."""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure

from themes import plots, trends


@pytest.fixture(scope="module")
def presence_and_reviews():
    rows, meta = [], []
    for i in range(40):
        year = 2010 + i % 8
        meta.append((f"r{i}", year, ["england", "wales"][i % 2], 6 if i % 3 else 150))
        for theme, flag in (("alpha", i % 2 == 0), ("beta", i % 3 == 0), ("gamma", year > 2014)):
            rows.append((f"r{i}", theme, flag))
    presence = pd.DataFrame(rows, columns=["review_id", "theme_id", "present"])
    reviews = pd.DataFrame(
        meta, columns=["review_id", "publication_year", "nation", "child_age_months"]
    )
    return presence, reviews


def test_prevalence_small_multiples_have_one_panel_per_theme_with_band_and_line(
    presence_and_reviews,
):
    presence, reviews = presence_and_reviews
    table = trends.prevalence_by_year(presence, reviews, min_n=3)
    fig = plots.plot_prevalence_over_time(
        table, ["alpha", "beta", "gamma"], labels={"alpha": "Alpha label"}, ncols=2
    )
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 3
    assert visible[0].get_title() == "Alpha label"  # short labels are not wrapped
    for ax in visible:
        assert any(isinstance(c, PolyCollection) for c in ax.collections)  # the interval band
        assert len(ax.lines[0].get_xdata()) == 8
        assert ax.get_ylim() == (0, 1)


def test_withheld_years_are_marked_not_drawn(presence_and_reviews):
    presence, reviews = presence_and_reviews
    table = trends.prevalence_by_year(presence, reviews, min_n=6)  # every year has 5 reviews
    fig = plots.plot_prevalence_over_time(table, ["alpha"], ncols=1)
    ax = fig.axes[0]
    assert len(ax.lines) == 2 and len(ax.lines[0].get_xdata()) == 0
    assert len(ax.lines[1].get_xdata()) == 8


def test_cooccurrence_heatmap_is_square_and_symmetric(presence_and_reviews):
    presence, _ = presence_and_reviews
    fig = plots.plot_cooccurrence_heatmap(trends.cooccurrence(presence), metric="n_both")
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (3, 3)
    assert (image.filled(0) == image.filled(0).T).all()
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["alpha", "beta", "gamma"]


def test_breakdown_bars_one_group_per_nation(presence_and_reviews):
    presence, reviews = presence_and_reviews
    table = trends.prevalence_by(presence, reviews, "nation", min_n=1)
    fig = plots.plot_breakdown(table, "nation", ["alpha", "beta"])
    ax = fig.axes[0]
    assert len(ax.patches) == 4  # 2 themes x 2 nations
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["england", "wales"]


def test_odds_ratio_forest_has_one_row_per_tested_theme(presence_and_reviews):
    presence, reviews = presence_and_reviews
    table = trends.trend_tests(presence, reviews)
    fig = plots.plot_trend_odds_ratios(table)
    ax = fig.axes[0]
    assert len(ax.get_yticklabels()) == table["odds_ratio_per_decade"].notna().sum()
    assert any(isinstance(c, LineCollection) for c in ax.collections)
    assert ax.get_xscale() == "log"


def test_save_figure_writes_png_and_svg_deterministically(tmp_path):
    def make() -> Figure:
        fig = Figure()
        fig.subplots().plot([1, 2, 3], [1, 4, 9])
        return fig

    a = plots.save_figure(make(), tmp_path / "a", "f")
    b = plots.save_figure(make(), tmp_path / "b", "f")
    assert [p.suffix for p in a] == [".png", ".svg"]
    assert a[1].read_bytes() == b[1].read_bytes()
    assert a[0].read_bytes() == b[0].read_bytes()
