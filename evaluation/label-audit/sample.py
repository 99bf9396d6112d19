"""Draw the blind label-audit sample: dev-split passages the combined tagger got right or wrong.

usage (from the repository root): .venv/bin/python evaluation/label-audit/sample.py
Writes items.jsonl (what the judges see), key.jsonl (what each item is) and meta.json here.
"""

import json
import random
from pathlib import Path

from themes import tagging as T

OUT = Path(__file__).parent
gold = T._read_gold(Path("corpus"))
u = T._theme_units(gold, "dev")
models = T.load_models()
m = models["metrics"]
tg = T.RuleTagger()
pred = T._predict_all(
    u, tg, models, m["combination_rule"], m["polarity_from"], m["rule_trusted_themes"]
)["combined"]
g = T._gold_decisions(u)
tp, fp, fn = [], [], []
for i, (gd, pdd) in enumerate(zip(g, pred, strict=True)):
    for t in sorted(set(gd) & set(pdd)):
        tp.append((i, t))
    for t in sorted(set(pdd) - set(gd)):
        fp.append((i, t))
    for t in sorted(set(gd) - set(pdd)):
        fn.append((i, t))
meta = {
    "split": "dev",
    "method": "combined",
    "units": len(u),
    "counts": {"tp": len(tp), "fp": len(fp), "fn": len(fn)},
    "model_metrics_sha256": T._sha256(T._default_model_dir() / "metrics.json"),
    "codebook_version": m["data"]["codebook_version"],
    "seed": 20261206,
}
(OUT / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
print(len(tp), len(fp), len(fn))
rng = random.Random(20261206)


# one item per library passage at most, so a recurring passage is not judged many times
def pick(pool, k):
    """Up to ``k`` random items, at most one per (library passage, theme)."""
    rng.shuffle(pool)
    seen = set()
    out = []
    for i, t in pool:
        key = (u.passage_ref[i] if isinstance(u.passage_ref[i], str) else f"x{i}", t)
        if key in seen:
            continue
        seen.add(key)
        out.append((i, t))
        if len(out) == k:
            break
    return out


items = (
    [("tp",) + x for x in pick(tp, 40)]
    + [("fp",) + x for x in pick(fp, 50)]
    + [("fn",) + x for x in pick(fn, 50)]
)
rng.shuffle(items)
key = []
blind = []
for n, (kind, i, t) in enumerate(items):
    blind.append({"item": n + 1, "theme_id": t, "text": u.text[i]})
    key.append(
        {
            "item": n + 1,
            "kind": kind,
            "theme_id": t,
            "passage_ref": u.passage_ref[i],
            "gold": sorted(g[i]),
            "predicted": sorted(pred[i]),
            "text": u.text[i],
        }
    )
(OUT / "items.jsonl").write_text("".join(json.dumps(b) + "\n" for b in blind))
(OUT / "key.jsonl").write_text("".join(json.dumps(k) + "\n" for k in key))
print(len(blind))
