#!/usr/bin/env bash
# Installs TensorBoard into .test-venv/ (git-ignored) for the test that reads rewardgen's event
# files back with TensorBoard's own reader. Running it again when it is there does nothing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.test-venv"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import tensorboard" 2>/dev/null; then
  exit 0
fi
command -v python3 >/dev/null 2>&1 || { echo "note: python3 is missing; the TensorBoard test will skip" >&2; exit 0; }
if ! { python3 -m venv "$venv" && "$venv/bin/python" -m pip install --quiet "tensorboard==2.20.0"; }; then
  echo "note: could not install tensorboard into $venv; the TensorBoard test will skip" >&2
  exit 0
fi
echo "rewardgen: TensorBoard is in $venv" >&2
