#!/usr/bin/env bash
# Installs MuJoCo 3.17.0's shared library into .mujoco/lib (git-ignored), taken from the
# PyPI wheel `mujoco==3.17.0`. Running it again when the library is present does nothing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lib_dir="$root/.mujoco/lib"
version="3.17.0"
if [ -f "$lib_dir/libmujoco.so.$version" ] && [ -L "$lib_dir/libmujoco.so" ]; then
  exit 0
fi
command -v python3 >/dev/null 2>&1 || { echo "error: python3 is missing; install Python 3 with pip to fetch MuJoCo $version" >&2; exit 1; }
python3 -m pip --version >/dev/null 2>&1 || { echo "error: pip is missing; install pip for python3 (e.g. apt-get install python3-pip) to fetch MuJoCo $version" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "rewardgen: fetching MuJoCo $version from the PyPI wheel..." >&2
# The shared library is the same in every CPython build of the wheel, so pin one.
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
  --platform manylinux_2_28_x86_64 "mujoco==$version" -d "$tmp"
wheel="$(ls "$tmp"/mujoco-"$version"-*.whl)"
python3 - "$wheel" "$tmp" "$version" <<'PY'
import sys, zipfile
wheel, out, version = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    z.extract(f"mujoco/libmujoco.so.{version}", out)
PY
mkdir -p "$lib_dir"
mv "$tmp/mujoco/libmujoco.so.$version" "$lib_dir/"
ln -sfn "libmujoco.so.$version" "$lib_dir/libmujoco.so"
echo "rewardgen: MuJoCo $version installed in $lib_dir" >&2
