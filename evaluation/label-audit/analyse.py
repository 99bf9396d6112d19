"""Summarise the blind label audit: how often two judges agree with the bundled gold labels.

usage (from the repository root): .venv/bin/python evaluation/label-audit/analyse.py
Reads key.jsonl, meta.json and judge_*.jsonl beside this file; prints the tables of README.md.
"""

import json
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

FOLDER = Path(__file__).parent
KINDS = {"tp": "gold yes, tagger yes", "fp": "gold no, tagger yes", "fn": "gold yes, tagger no"}


def _f1(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return precision, recall, 2 * precision * recall / (precision + recall)


key = {r["item"]: r for r in map(json.loads, (FOLDER / "key.jsonl").read_text().splitlines())}
meta = json.loads((FOLDER / "meta.json").read_text())
judges = {}
for path in sorted(FOLDER.glob("judge_*.jsonl")):
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    judges[path.stem] = {r["item"]: bool(r["expresses"]) for r in rows}
    assert set(judges[path.stem]) == set(key), f"{path.name}: items differ from key.jsonl"

print(
    f"{len(key)} items: "
    + ", ".join(f"{k} {sum(r['kind'] == k for r in key.values())}" for k in KINDS)
)
print("\n| judge | " + " | ".join(f"{k}: says the theme is there" for k in KINDS) + " |")
print("|---|" + "---|" * len(KINDS))
share: dict[str, dict[str, float]] = {}
for name, said in judges.items():
    cells = []
    share[name] = {}
    for kind in KINDS:
        items = [i for i, r in key.items() if r["kind"] == kind]
        yes = sum(said[i] for i in items)
        share[name][kind] = yes / len(items)
        cells.append(f"{yes}/{len(items)} ({yes / len(items):.2f})")
    print(f"| {name} | " + " | ".join(cells) + " |")

names = sorted(judges)
if len(names) == 2:
    a, b = (judges[n] for n in names)
    items = sorted(key)
    agree = sum(a[i] == b[i] for i in items) / len(items)
    kappa = cohen_kappa_score([a[i] for i in items], [b[i] for i in items])
    print(f"\njudges agree on {agree:.2f} of items; Cohen's kappa {kappa:.2f}")

# What the dev micro-F1 would be if the judges (mean of the two) were the gold standard: tagger
# false positives the judges accept become true positives, misses they reject stop counting, and
# agreed positives they reject become false positives. Passages that both the gold and the tagger
# left without a theme the judges would see were not sampled, so this is an upper bound.
mean = {k: sum(share[n][k] for n in names) / len(names) for k in KINDS}
tp, fp, fn = (meta["counts"][k] for k in ("tp", "fp", "fn"))
measured = _f1(tp, fp, fn)
corrected = _f1(
    tp * mean["tp"] + fp * mean["fp"],
    fp * (1 - mean["fp"]) + tp * (1 - mean["tp"]),
    fn * mean["fn"],
)
print(
    f"\n{meta['split']} split, {meta['method']}, micro-F1 over (passage, theme) pairs: measured "
    f"P {measured[0]:.3f} R {measured[1]:.3f} F1 {measured[2]:.3f}; with the judges as gold "
    f"(upper bound) P {corrected[0]:.3f} R {corrected[1]:.3f} F1 {corrected[2]:.3f}"
)
