"""Prevalence, trends, breakdowns, co-occurrence and recurring lessons across reviews.

Pure functions: DataFrames in, DataFrames out, inputs never mutated. Counts are of **reviews**, one
primary document per review, never of files.

Input contracts
---------------
``presence`` (one row per review x theme; what :func:`presence_from_report_themes` returns)
    review_id, theme_id, present (bool).
``reviews`` (one row per review)
    review_id, publication_year, and for breakdowns nation, review_type, child_age_months, outcome,
    partnership.

Every result carries ``attrs["caveats"]`` where a reader needs one (for instance that review regimes
changed in 2018-2021, so a change between periods may reflect which reviews are commissioned and how
they are written as well as practice).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

REGIME_CAVEAT = (
    "Review regimes changed during the period: England replaced Serious Case Reviews with Local "
    "Child Safeguarding Practice Reviews and national Panel reviews from 2018-19, Wales introduced "
    "Child Practice Reviews in 2016 and Scotland Learning Reviews in 2021. Differences over time "
    "may reflect which cases are reviewed and how reports are written, "
    "not only changes in practice."
)
AGE_BANDS = ("under 1", "1-4", "5-10", "11-15", "16-17")
TOXIC_TRIO = ("domestic_abuse", "parental_mental_health", "parental_substance_misuse")


def _require(df: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name} is missing column(s) {missing}; it has {list(df.columns)}")


# ------------------------------------------------------------------------------- inputs
def primary_reviews(reports: pd.DataFrame) -> pd.DataFrame:
    """One row per review from a reports table: the overview when there is one.

    Requires: review_id, report_id, document_kind, publication_year.
    """
    _require(reports, ["review_id", "report_id", "document_kind", "publication_year"], "reports")
    rank = {"overview": 0, "national_review": 0, "executive_summary": 1, "learning_brief": 2}
    ordered = reports.assign(_rank=reports["document_kind"].map(rank).fillna(3))
    ordered = ordered.sort_values(["review_id", "_rank", "report_id"])
    return ordered.drop_duplicates("review_id").drop(columns="_rank").reset_index(drop=True)


def presence_from_report_themes(
    report_themes: pd.DataFrame, theme_ids: Sequence[str]
) -> pd.DataFrame:
    """Collapse report x theme rows to review x theme presence, filling absent combinations.

    A review has a theme when any of its documents does (an executive summary and its overview
    describe one review).

    Requires: review_id, theme_id, present. Returns: review_id, theme_id, present.
    """
    _require(report_themes, ["review_id", "theme_id", "present"], "report_themes")
    present = report_themes.groupby(["review_id", "theme_id"])["present"].any()
    reviews = sorted(report_themes["review_id"].unique())
    full = pd.MultiIndex.from_product([reviews, list(theme_ids)], names=["review_id", "theme_id"])
    out = present.reindex(full, fill_value=False).reset_index()
    out["present"] = out["present"].astype(bool)
    return out


def age_band(months: float | None) -> str | None:
    """Age band used in national analyses: under 1, 1-4, 5-10, 11-15, 16-17.

    Examples:
        >>> [age_band(m) for m in (3, 12, 60, 132, 200, None)]
        ['under 1', '1-4', '5-10', '11-15', '16-17', None]
    """
    if months is None or (isinstance(months, float) and math.isnan(months)) or pd.isna(months):
        return None
    years = int(months) // 12
    if years < 1:
        return "under 1"
    if years <= 4:
        return "1-4"
    if years <= 10:
        return "5-10"
    if years <= 15:
        return "11-15"
    return "16-17"


# ------------------------------------------------------------------------------- intervals
def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion (better than Wald for small n or extreme p).

    Examples:
        >>> [round(x, 4) for x in wilson_interval(3, 10)]
        [0.1078, 0.6032]
    """
    if n == 0:
        return (math.nan, math.nan)
    from scipy.stats import norm

    z = norm.ppf(1 - (1 - confidence) / 2)
    p = successes / n
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return (float(max(0.0, centre - half)), float(min(1.0, centre + half)))


def _with_intervals(table: pd.DataFrame, min_n: int, confidence: float) -> pd.DataFrame:
    rows = []
    for k, n in zip(table["n_present"], table["n_reviews"], strict=True):
        lo, hi = wilson_interval(int(k), int(n), confidence)
        rows.append((k / n if n else math.nan, lo, hi))
    out = table.assign(
        prevalence=[r[0] for r in rows], ci_low=[r[1] for r in rows], ci_high=[r[2] for r in rows]
    )
    # Minimum-n guard: an estimate from fewer than min_n reviews is withheld, not drawn.
    out["enough_data"] = out["n_reviews"] >= min_n
    for col in ("prevalence", "ci_low", "ci_high"):
        out.loc[~out["enough_data"], col] = math.nan
    return out


def prevalence_by_year(
    presence: pd.DataFrame, reviews: pd.DataFrame, *, min_n: int = 3, confidence: float = 0.95
) -> pd.DataFrame:
    """Share of reviews per publication year with each theme present, with Wilson intervals.

    Args:
        presence: review_id, theme_id, present.
        reviews: review_id, publication_year.
        min_n: Years with fewer reviews than this get no estimate (``enough_data`` False).
        confidence: Interval level.

    Returns:
        theme_id, publication_year, n_reviews, n_present, prevalence, ci_low, ci_high, enough_data.

    Examples:
        >>> presence = pd.DataFrame({"review_id": ["a", "b", "c"], "theme_id": "t",
        ...                          "present": [True, False, True]})
        >>> reviews = pd.DataFrame({"review_id": ["a", "b", "c"], "publication_year": [2020] * 3})
        >>> prevalence_by_year(presence, reviews)[["n_reviews", "n_present"]].values.tolist()
        [[3, 2]]
    """
    return prevalence_by(presence, reviews, "publication_year", min_n=min_n, confidence=confidence)


def prevalence_by(
    presence: pd.DataFrame,
    reviews: pd.DataFrame,
    by: str,
    *,
    min_n: int = 3,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Prevalence of each theme within groups of reviews (year, nation, review type, age band ...).

    ``by="age_band"`` derives the band from ``child_age_months``. Reviews with no value for ``by``
    are left out and counted in ``attrs["n_unknown"]``.

    Returns:
        theme_id, <by>, n_reviews, n_present, prevalence, ci_low, ci_high, enough_data.
    """
    _require(presence, ["review_id", "theme_id", "present"], "presence")
    reviews = reviews.copy()
    if by == "age_band":
        _require(reviews, ["review_id", "child_age_months"], "reviews")
        reviews["age_band"] = reviews["child_age_months"].map(age_band)
    _require(reviews, ["review_id", by], "reviews")
    merged = presence.merge(reviews[["review_id", by]], on="review_id", how="inner")
    unknown = merged[merged[by].isna()]["review_id"].nunique()
    merged = merged[merged[by].notna()]
    table = (
        merged.groupby(["theme_id", by], observed=True)
        .agg(n_reviews=("review_id", "nunique"), n_present=("present", "sum"))
        .reset_index()
    )
    table["n_present"] = table["n_present"].astype(int)
    if by == "age_band":
        table["age_band"] = pd.Categorical(table["age_band"], categories=AGE_BANDS, ordered=True)
    out = (
        _with_intervals(table, min_n, confidence)
        .sort_values(["theme_id", by])
        .reset_index(drop=True)
    )
    out.attrs["n_unknown"] = int(unknown)
    out.attrs["confidence"] = confidence
    out.attrs["min_n"] = min_n
    return out


# ------------------------------------------------------------------------------- trend tests
def benjamini_hochberg(p_values: Sequence[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (false discovery rate), NaN-preserving.

    Examples:
        >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.5]).round(3).tolist()
        [0.04, 0.053, 0.053, 0.5]
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    if not ok.any():
        return out
    q = p[ok]
    order = np.argsort(q)
    ranked = q[order] * len(q) / np.arange(1, len(q) + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1.0)
    result = np.empty_like(q)
    result[order] = adjusted
    out[ok] = result
    return out


def cochran_armitage(years: Sequence[float], present: Sequence[bool]) -> tuple[float, float]:
    """Cochran-Armitage test for trend in a proportion over ordered years.

    Returns:
        (z statistic, two-sided p-value). Positive z means the proportion rises with year.

    Examples:
        >>> z, p = cochran_armitage([1, 1, 2, 2, 3, 3, 4, 4], [0, 0, 0, 1, 1, 0, 1, 1])
        >>> round(z, 3), round(p, 3)  # by hand: T = 3, Var(T) = 2.5, z = 3 / sqrt(2.5)
        (1.897, 0.058)
    """
    from scipy.stats import norm

    df = pd.DataFrame({"t": np.asarray(years, dtype=float), "y": np.asarray(present, dtype=float)})
    groups = df.groupby("t")["y"].agg(["sum", "count"])
    t, r, n = groups.index.to_numpy(), groups["sum"].to_numpy(), groups["count"].to_numpy()
    big_n, big_r = n.sum(), r.sum()
    p_bar = big_r / big_n
    if p_bar in (0.0, 1.0) or len(t) < 2:
        return (0.0, 1.0)
    t_stat = np.sum(t * (r - n * p_bar))
    var = p_bar * (1 - p_bar) * (np.sum(n * t**2) - np.sum(n * t) ** 2 / big_n)
    if var <= 0:
        return (0.0, 1.0)
    z = t_stat / math.sqrt(var)
    return (float(z), float(2 * norm.sf(abs(z))))


def _logistic_trend(years: np.ndarray, y: np.ndarray, centre: float) -> dict:
    import statsmodels.api as sm

    x = sm.add_constant((years - centre) / 10.0)  # slope per decade reads more naturally
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.Logit(y, x).fit(disp=0, maxiter=100)
    slope, se = float(fit.params[1]), float(fit.bse[1])
    if not np.isfinite(se) or se > 50:
        raise ValueError("separation")
    return {
        "log_odds_per_decade": slope,
        "odds_ratio_per_decade": math.exp(slope),
        "or_ci_low": math.exp(slope - 1.96 * se),
        "or_ci_high": math.exp(slope + 1.96 * se),
        "p_value": float(fit.pvalues[1]),
    }


def trend_tests(
    presence: pd.DataFrame,
    reviews: pd.DataFrame,
    *,
    alpha: float = 0.05,
    method: str = "logistic",
    min_reviews_with_theme: int = 3,
) -> pd.DataFrame:
    """Test each theme for a linear trend in prevalence over publication years.

    ``method="logistic"`` fits presence ~ year by logistic regression (odds ratio per decade, Wald
    interval and p-value), falling back to Cochran-Armitage when the fit separates;
    ``method="cochran-armitage"`` uses that test throughout. p-values are adjusted across themes
    by Benjamini-Hochberg, and ``direction`` is rising / falling only where the adjusted p-value
    is below ``alpha``; otherwise "no clear trend". Themes present in fewer than
    ``min_reviews_with_theme`` reviews are not tested (``tested`` False).

    Returns:
        theme_id, n_reviews, n_present, first_year, last_year, log_odds_per_decade,
        odds_ratio_per_decade, or_ci_low, or_ci_high, p_value, p_adjusted, direction, test, tested.
    """
    _require(presence, ["review_id", "theme_id", "present"], "presence")
    _require(reviews, ["review_id", "publication_year"], "reviews")
    merged = presence.merge(reviews[["review_id", "publication_year"]], on="review_id")
    merged = merged[merged["publication_year"].notna()]
    centre = float(merged["publication_year"].astype(float).mean()) if len(merged) else 0.0
    rows = []
    for theme, group in merged.groupby("theme_id"):
        years = group["publication_year"].astype(float).to_numpy()
        y = group["present"].astype(float).to_numpy()
        row = {
            "theme_id": theme,
            "n_reviews": int(len(group)),
            "n_present": int(y.sum()),
            "first_year": int(years.min()),
            "last_year": int(years.max()),
            "log_odds_per_decade": math.nan,
            "odds_ratio_per_decade": math.nan,
            "or_ci_low": math.nan,
            "or_ci_high": math.nan,
            "p_value": math.nan,
            "z": math.nan,
            "test": None,
            "tested": bool(min_reviews_with_theme <= y.sum() <= len(y) - 1),
        }
        if row["tested"]:
            if method == "logistic":
                try:
                    row.update(_logistic_trend(years, y, centre))
                    row["test"] = "logistic regression"
                except (ValueError, np.linalg.LinAlgError):
                    row["test"] = "cochran-armitage"
            else:
                row["test"] = "cochran-armitage"
            if row["test"] == "cochran-armitage":
                row["z"], row["p_value"] = cochran_armitage(years, y)
        rows.append(row)
    out = pd.DataFrame(rows)
    out["p_adjusted"] = benjamini_hochberg(out["p_value"].to_numpy())
    sign = out["z"].where(out["z"].notna(), out["log_odds_per_decade"]).astype(float)
    out["direction"] = np.where(
        out["p_adjusted"] < alpha, np.where(sign > 0, "rising", "falling"), "no clear trend"
    )
    out = out.drop(columns="z")
    out.attrs.update(
        {"alpha": alpha, "correction": "Benjamini-Hochberg", "caveats": [REGIME_CAVEAT]}
    )
    return out.sort_values("theme_id").reset_index(drop=True)


def compare_periods(
    presence: pd.DataFrame,
    reviews: pd.DataFrame,
    *,
    split_year: int = 2019,
    labels: tuple[str, str] = ("before 2019 (mostly SCRs)", "2019 on (mostly LCSPRs)"),
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Compare each theme's prevalence before and from ``split_year`` (Fisher's exact test, BH).

    The default split follows England's move from Serious Case Reviews to Local Child Safeguarding
    Practice Reviews; the regime caveat is recorded in ``attrs["caveats"]`` and in a column.

    Returns:
        theme_id, period_1, n_1, k_1, prev_1, period_2, n_2, k_2, prev_2, difference, p_value,
        p_adjusted, significant, caveat.
    """
    from scipy.stats import fisher_exact

    merged = presence.merge(reviews[["review_id", "publication_year"]], on="review_id")
    merged = merged[merged["publication_year"].notna()]
    merged["later"] = merged["publication_year"].astype(int) >= split_year
    rows = []
    for theme, group in merged.groupby("theme_id"):
        early, late = group[~group["later"]], group[group["later"]]
        k1, n1, k2, n2 = (
            int(early["present"].sum()),
            len(early),
            int(late["present"].sum()),
            len(late),
        )
        p = fisher_exact([[k1, n1 - k1], [k2, n2 - k2]])[1] if n1 and n2 else math.nan
        rows.append(
            {
                "theme_id": theme,
                "period_1": labels[0],
                "n_1": n1,
                "k_1": k1,
                "prev_1": k1 / n1 if n1 else math.nan,
                "period_2": labels[1],
                "n_2": n2,
                "k_2": k2,
                "prev_2": k2 / n2 if n2 else math.nan,
                "p_value": p,
            }
        )
    out = pd.DataFrame(rows)
    out["difference"] = out["prev_2"] - out["prev_1"]
    out["p_adjusted"] = benjamini_hochberg(out["p_value"].to_numpy())
    out["significant"] = out["p_adjusted"] < alpha
    out["caveat"] = REGIME_CAVEAT
    out.attrs.update({"split_year": split_year, "caveats": [REGIME_CAVEAT]})
    return out.sort_values("theme_id").reset_index(drop=True)


# ------------------------------------------------------------------------------- co-occurrence
def cooccurrence(presence: pd.DataFrame, theme_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Pairwise co-occurrence of themes across reviews: counts, Jaccard index and lift.

    Lift is P(A and B) / (P(A) P(B)): above 1 the themes appear together more often than chance.

    Returns:
        theme_a, theme_b, n_reviews, n_a, n_b, n_both, jaccard, lift (one row per unordered pair,
        theme_a < theme_b).

    Examples:
        >>> p = pd.DataFrame({"review_id": [1, 1, 2, 2, 3, 3], "theme_id": ["a", "b"] * 3,
        ...                   "present": [True, True, True, False, False, True]})
        >>> cooccurrence(p)[["n_both", "jaccard", "lift"]].round(2).values.tolist()
        [[1.0, 0.33, 0.75]]
    """
    _require(presence, ["review_id", "theme_id", "present"], "presence")
    wide = presence.pivot_table(
        index="review_id", columns="theme_id", values="present", aggfunc="any"
    ).fillna(False)
    if theme_ids is not None:
        wide = wide.reindex(columns=list(theme_ids), fill_value=False)
    matrix = wide.to_numpy(dtype=float)
    both = matrix.T @ matrix
    n = matrix.shape[0]
    counts = matrix.sum(axis=0)
    rows = []
    names = list(wide.columns)
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            union = counts[i] + counts[j] - both[i, j]
            expected = counts[i] * counts[j] / n if n else 0
            rows.append(
                {
                    "theme_a": names[i],
                    "theme_b": names[j],
                    "n_reviews": n,
                    "n_a": counts[i],
                    "n_b": counts[j],
                    "n_both": both[i, j],
                    "jaccard": both[i, j] / union if union else math.nan,
                    "lift": both[i, j] / expected if expected else math.nan,
                }
            )
    return pd.DataFrame(rows)


def toxic_trio(presence: pd.DataFrame, reviews: pd.DataFrame | None = None) -> pd.DataFrame:
    """How many of the "toxic trio" factors each review has.

    The trio is domestic abuse, parental mental ill-health and parental substance misuse; the result
    is the number and share of reviews with 0, 1, 2 or 3.

    Returns:
        n_factors, n_reviews, share, ci_low, ci_high.
    """
    trio = presence[presence["theme_id"].isin(TOXIC_TRIO)]
    per_review = trio.groupby("review_id")["present"].sum()
    all_reviews = presence["review_id"].unique()
    per_review = per_review.reindex(all_reviews, fill_value=0)
    total = len(per_review)
    rows = []
    for k in range(4):
        count = int((per_review == k).sum())
        lo, hi = wilson_interval(count, total)
        rows.append(
            {
                "n_factors": k,
                "n_reviews": count,
                "share": count / total if total else math.nan,
                "ci_low": lo,
                "ci_high": hi,
            }
        )
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------- recurring lessons
def recurring_lessons(
    presence: pd.DataFrame,
    reviews: pd.DataFrame,
    recommendations: pd.DataFrame | None = None,
    *,
    theme_ids: Sequence[str] | None = None,
    top_k: int = 3,
) -> pd.DataFrame:
    """The "lessons not learned" view: how persistently each theme recurs, and what is recommended.

    Args:
        presence: review_id, theme_id, present.
        reviews: review_id, publication_year, partnership.
        recommendations: optional review_id, theme_ids (list of themes the recommendation responds
            to), rec_types (list of recommendation types).
        theme_ids: Themes to report (default: all in ``presence``).
        top_k: How many recommendation types to list per theme.

    Returns:
        theme_id, n_reviews, share_of_reviews, n_years, first_year, last_year, n_partnerships,
        years_span, n_recommendations, top_recommendation_types
        (e.g. "rec_training_workforce (12)").
    """
    _require(reviews, ["review_id", "publication_year", "partnership"], "reviews")
    merged = presence[presence["present"]].merge(reviews, on="review_id")
    total_reviews = presence["review_id"].nunique()
    themes = list(theme_ids) if theme_ids is not None else sorted(presence["theme_id"].unique())
    rec_counts: dict[str, pd.Series] = {}
    if recommendations is not None and len(recommendations):
        # Only the two list columns: exploding the whole table copied every recommendation's
        # text once per (theme, type) pair, over a gigabyte for a national corpus.
        recs = (
            recommendations[["theme_ids", "rec_types"]]
            .explode("theme_ids")
            .explode("rec_types")
            .dropna(subset=["theme_ids", "rec_types"])
        )
        for theme, group in recs.groupby("theme_ids"):
            rec_counts[theme] = group["rec_types"].value_counts()
    rows = []
    for theme in themes:
        group = merged[merged["theme_id"] == theme]
        years = group["publication_year"].dropna().astype(int)
        counts = rec_counts.get(theme, pd.Series(dtype=int))
        rows.append(
            {
                "theme_id": theme,
                "n_reviews": int(group["review_id"].nunique()),
                "share_of_reviews": group["review_id"].nunique() / total_reviews
                if total_reviews
                else math.nan,
                "n_years": int(years.nunique()),
                "first_year": int(years.min()) if len(years) else None,
                "last_year": int(years.max()) if len(years) else None,
                "years_span": int(years.max() - years.min() + 1) if len(years) else 0,
                "n_partnerships": int(group["partnership"].dropna().nunique()),
                "n_recommendations": int(counts.sum()) if len(counts) else 0,
                "top_recommendation_types": "; ".join(
                    f"{t} ({n})" for t, n in counts.head(top_k).items()
                ),
            }
        )
    out = (
        pd.DataFrame(rows)
        .sort_values(["n_years", "n_reviews"], ascending=False)
        .reset_index(drop=True)
    )
    out.attrs["caveats"] = [REGIME_CAVEAT]
    return out
