#!/usr/bin/env bash
# Downloads reference models used by the tests into .testdata/ (git-ignored): Gymnasium's
# MuJoCo models from the `gymnasium==1.2.1` wheel. Running it again does nothing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/.testdata/gymnasium"
if [ -f "$out/half_cheetah.xml" ]; then
  exit 0
fi
command -v python3 >/dev/null 2>&1 || { echo "error: python3 is missing; install Python 3 with pip to fetch the test models" >&2; exit 1; }
python3 -m pip --version >/dev/null 2>&1 || { echo "error: pip is missing; install pip for python3 to fetch the test models" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps "gymnasium==1.2.1" -d "$tmp"
python3 - "$tmp"/gymnasium-1.2.1-*.whl "$out" <<'PY'
import os, sys, zipfile
wheel, out = sys.argv[1:]
prefix = "gymnasium/envs/mujoco/assets/"
os.makedirs(out, exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(prefix) and name.endswith(".xml"):
            with open(os.path.join(out, os.path.basename(name)), "wb") as f:
                f.write(z.read(name))
PY
echo "rewardgen: Gymnasium's MuJoCo models are in $out" >&2
