#!/usr/bin/env bash
# Installs the Python packages some tests check rewardgen against into .test-venv/ (git-ignored):
# TensorBoard, for the test that reads rewardgen's event files back with TensorBoard's own
# reader, and Gymnasium with MuJoCo (the same 3.17.0 as .mujoco/), for the test that steps
# the Gymnasium task files side by side with Gymnasium's Hopper-v5 and Ant-v5. Running it
# again when they are there does nothing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.test-venv"
packages=("tensorboard==2.20.0" "gymnasium[mujoco]==1.2.1" "mujoco==3.17.0")
# gymnasium.envs.mujoco imports mujoco and imageio (Gymnasium's `mujoco` extra) as well.
installed='
import tensorboard, gymnasium, mujoco, gymnasium.envs.mujoco
assert gymnasium.__version__ == "1.2.1" and mujoco.__version__ == "3.17.0"
'
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$installed" 2>/dev/null; then
  exit 0
fi
command -v python3 >/dev/null 2>&1 || { echo "note: python3 is missing; the TensorBoard and Gymnasium tests will skip" >&2; exit 0; }
if ! { { [ -x "$venv/bin/python" ] || python3 -m venv "$venv"; } \
  && "$venv/bin/python" -m pip install --quiet "${packages[@]}"; }; then
  echo "note: could not install ${packages[*]} into $venv; the TensorBoard and Gymnasium tests will skip" >&2
  exit 0
fi
echo "rewardgen: TensorBoard, Gymnasium and MuJoCo are in $venv" >&2
