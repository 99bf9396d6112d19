"""Measure the theme classifier's learning curve; writes results.csv beside this file.

Usage (from the repository root, about 4 minutes on 2 cores):
    .venv/bin/python evaluation/learning-curve/run.py
"""

from pathlib import Path

from themes.learning_curve import learning_curve

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    curve = learning_curve(fractions=(0.125, 0.25, 0.5, 0.75, 1.0), draws=3, seed=0)
    curve.round(4).to_csv(HERE / "results.csv", index=False)
    means = curve.groupby("fraction").mean(numeric_only=True).drop(columns="draw").round(3)
    print(means.to_string())
