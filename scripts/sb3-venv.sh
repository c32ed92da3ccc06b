#!/usr/bin/env bash
# Installs Stable-Baselines3, PyTorch and Gymnasium's MuJoCo envs into .bench-venv/
# (git-ignored) for bench/ppo_vs_sb3.rs. A large download (PyTorch); running it again does
# nothing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.bench-venv"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import stable_baselines3, gymnasium, mujoco" 2>/dev/null; then
  exit 0
fi
command -v python3 >/dev/null 2>&1 || { echo "error: python3 is missing" >&2; exit 1; }
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet "stable-baselines3==2.9.2" "gymnasium[mujoco]==1.2.1" "mujoco==3.17.0"
echo "rewardgen: Stable-Baselines3 is in $venv" >&2
