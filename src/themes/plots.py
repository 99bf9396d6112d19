"""Figures for the analysis: each function takes a tidy table and returns a matplotlib Figure.

Figures are built with the object-oriented API (no pyplot state), so they are safe in scripts,
tests and notebooks alike. :func:`save_figure` writes PNG and SVG with fixed metadata, so the same
data gives the same files.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

PRESENT_COLOUR = "#1f5f8b"
WITHHELD_COLOUR = "#b0b0b0"


def _label(theme_id: str, labels: Mapping[str, str] | None) -> str:
    return (labels or {}).get(theme_id, theme_id.replace("_", " "))


def plot_prevalence_over_time(
    prevalence: pd.DataFrame,
    themes: Sequence[str] | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    ncols: int = 4,
    title: str
    | None = "Share of reviews with each theme, by publication year (95% Wilson intervals)",
) -> Figure:
    """Small multiples: one panel per theme, prevalence line with its interval band.

    Years withheld by the minimum-n guard (``enough_data`` False) are marked on the axis in grey.

    Args:
        prevalence: Output of :func:`themes.trends.prevalence_by_year`.
        themes: Themes to draw, in order (default: all, alphabetical).
        labels: Display labels by theme id (e.g. from the codebook).
        ncols: Panels per row.
        title: Figure title (None for none).
    """
    themes = list(themes) if themes is not None else sorted(prevalence["theme_id"].unique())
    nrows = max(1, math.ceil(len(themes) / ncols))
    fig = Figure(figsize=(3.2 * ncols, 2.4 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
    for ax, theme in zip(axes, themes, strict=False):
        data = prevalence[prevalence["theme_id"] == theme].sort_values("publication_year")
        shown = data[data["enough_data"]]
        ax.fill_between(
            shown["publication_year"],
            shown["ci_low"],
            shown["ci_high"],
            color=PRESENT_COLOUR,
            alpha=0.2,
            linewidth=0,
        )
        ax.plot(
            shown["publication_year"],
            shown["prevalence"],
            color=PRESENT_COLOUR,
            marker="o",
            markersize=3,
        )
        withheld = data[~data["enough_data"]]
        if len(withheld):
            ax.plot(
                withheld["publication_year"],
                [0] * len(withheld),
                linestyle="none",
                marker="|",
                color=WITHHELD_COLOUR,
            )
        ax.set_title(textwrap.fill(_label(theme, labels), 34), fontsize=8)
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.grid(alpha=0.3)
    for ax in axes[len(themes) :]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def plot_cooccurrence_heatmap(
    cooccurrence: pd.DataFrame,
    *,
    metric: str = "lift",
    themes: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
) -> Figure:
    """Theme x theme heatmap of co-occurrence (lift, jaccard or n_both) across reviews.

    Args:
        cooccurrence: Output of :func:`themes.trends.cooccurrence` (one row per unordered pair).
        metric: Column to draw.
        themes: Order of rows and columns (default: alphabetical).
        labels: Display labels by theme id.
        title: Figure title (default names the metric).
    """
    names = (
        list(themes)
        if themes is not None
        else sorted(set(cooccurrence["theme_a"]) | set(cooccurrence["theme_b"]))
    )
    index = {t: i for i, t in enumerate(names)}
    matrix = np.full((len(names), len(names)), np.nan)
    for row in cooccurrence.itertuples(index=False):
        if row.theme_a in index and row.theme_b in index:
            value = getattr(row, metric)
            matrix[index[row.theme_a], index[row.theme_b]] = value
            matrix[index[row.theme_b], index[row.theme_a]] = value
    size = max(5.0, 0.28 * len(names) + 2)
    fig = Figure(figsize=(size + 1.5, size), layout="constrained")
    ax = fig.subplots()
    if metric == "lift":
        finite = matrix[np.isfinite(matrix)]
        spread = (
            max(1.0, float(np.nanmax(np.abs(np.log2(finite[finite > 0])))))
            if finite.size and (finite > 0).any()
            else 1.0
        )
        image = ax.imshow(
            np.log2(np.where(matrix > 0, matrix, np.nan)), cmap="RdBu_r", vmin=-spread, vmax=spread
        )
        fig.colorbar(image, ax=ax, label="log2 lift (0 = as often as chance)")
    else:
        image = ax.imshow(matrix, cmap="viridis")
        fig.colorbar(image, ax=ax, label=metric)
    tick_labels = [_label(t, labels) for t in names]
    ax.set_xticks(range(len(names)), tick_labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(names)), tick_labels, fontsize=7)
    ax.set_title(title or f"Theme co-occurrence across reviews ({metric})", fontsize=11)
    return fig


def plot_breakdown(
    breakdown: pd.DataFrame,
    by: str,
    themes: Sequence[str],
    *,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
) -> Figure:
    """Grouped horizontal bars: prevalence of each theme within each group, with interval whiskers.

    Args:
        breakdown: Output of :func:`themes.trends.prevalence_by` for the same ``by``.
        by: The grouping column (nation, review_type, age_band, outcome, ...).
        themes: Themes to show (one bar group each).
        labels: Display labels by theme id.
        title: Figure title.
    """
    data = breakdown[breakdown["theme_id"].isin(themes)]
    groups = [g for g in pd.unique(data[by].astype(str))]
    fig = Figure(
        figsize=(8, 0.55 * len(themes) * max(1, len(groups)) / 2 + 2), layout="constrained"
    )
    ax = fig.subplots()
    height = 0.8 / max(1, len(groups))
    for g_index, group in enumerate(groups):
        sub = data[data[by].astype(str) == group].set_index("theme_id").reindex(themes)
        y = np.arange(len(themes)) + g_index * height
        values = sub["prevalence"].to_numpy(dtype=float)
        err = np.vstack(
            [
                values - sub["ci_low"].to_numpy(dtype=float),
                sub["ci_high"].to_numpy(dtype=float) - values,
            ]
        )
        ax.barh(
            y,
            values,
            height=height,
            label=f"{group}",
            xerr=np.clip(np.nan_to_num(err), 0, None),
            error_kw={"elinewidth": 0.8, "alpha": 0.6},
        )
    ax.set_yticks(
        np.arange(len(themes)) + 0.4 - height / 2, [_label(t, labels) for t in themes], fontsize=8
    )
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_xlabel("share of reviews (95% Wilson interval)")
    ax.legend(title=by.replace("_", " "), fontsize=8)
    ax.set_title(title or f"Theme prevalence by {by.replace('_', ' ')}", fontsize=11)
    return fig


def plot_trend_odds_ratios(
    trend: pd.DataFrame, *, labels: Mapping[str, str] | None = None
) -> Figure:
    """Forest plot of each theme's odds ratio per decade with its 95% interval.

    Args:
        trend: Output of :func:`themes.trends.trend_tests`.
        labels: Display labels by theme id.
    """
    data = trend[trend["odds_ratio_per_decade"].notna()].sort_values("odds_ratio_per_decade")
    fig = Figure(figsize=(7, 0.28 * len(data) + 1.5), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(data))
    colours = data["direction"].map({"rising": "#b2182b", "falling": "#2166ac"}).fillna("#777777")
    ax.hlines(y, data["or_ci_low"], data["or_ci_high"], color=list(colours), linewidth=1.5)
    ax.scatter(data["odds_ratio_per_decade"], y, color=list(colours), zorder=3, s=16)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yticks(y, [_label(t, labels) for t in data["theme_id"]], fontsize=8)
    ax.set_xlabel(
        "odds ratio per decade (log scale); red rising, blue falling after FDR correction"
    )
    ax.set_title("Direction of travel by theme", fontsize=11)
    return fig


def save_figure(fig: Figure, folder: str | Path, name: str) -> list[Path]:
    """Write ``fig`` as ``name.png`` and ``name.svg`` in ``folder``; return the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{name}.png", folder / f"{name}.svg"]
    with matplotlib.rc_context({"svg.hashsalt": "safeguarding-themes"}):
        fig.savefig(paths[0], dpi=120, metadata={"Software": None})
        fig.savefig(paths[1], metadata={"Date": None, "Creator": None})
    return paths
