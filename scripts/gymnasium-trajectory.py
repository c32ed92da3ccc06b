#!/usr/bin/env python3
"""Records a trajectory of a Gymnasium MuJoCo env, the reference the Gymnasium task files
(assets/tasks/gymnasium/) are checked against step by step.

    .test-venv/bin/python scripts/gymnasium-trajectory.py --env Hopper-v5 \\
        --xml .testdata/gymnasium/hopper.xml --seed 0 --steps 500 --out hopper-0.json

Makes the env with `gymnasium.make(ENV, xml_file=<absolute XML path>)`, resets it with the
seed, then steps a fixed action sequence until the episode terminates or N steps have run.
The actions are uniform in the action space times --action-scale (a scale above 1 gives
actions outside it, which MuJoCo clamps to ctrlrange while the control cost sees them raw),
drawn from `numpy.random.default_rng(SEED)` before the first step, so the same arguments give
the same actions on every run. Writes JSON:

    {"env", "xml", "seed", "steps_asked", "action_scale", "gymnasium", "mujoco", "dt",
     "initial": {"qpos", "qvel", "obs"},
     "steps": [{"action", "qpos", "qvel", "obs", "reward", "terminated", "truncated",
                "info"}, ...]}

Numbers are Python floats, which `json` writes with repr: they read back bit for bit.
"""

import argparse
import json
import math
import os
import sys

import gymnasium
import mujoco
import numpy as np


def floats(array):
    return [float(x) for x in np.asarray(array, dtype=np.float64).ravel()]


def finite_or_none(x):
    # JSON has no NaN or Inf; a value that is not finite is written as null.
    x = float(x)
    return x if math.isfinite(x) else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", required=True, help="a Gymnasium id, e.g. Hopper-v5")
    parser.add_argument("--xml", required=True, help="the MJCF model (xml_file)")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--steps", type=int, required=True, help="the most steps to take")
    parser.add_argument("--action-scale", type=float, default=1.0)
    parser.add_argument("--out", required=True, help="the JSON file to write")
    args = parser.parse_args()

    xml = os.path.abspath(args.xml)
    env = gymnasium.make(args.env, xml_file=xml)
    obs, _ = env.reset(seed=args.seed)
    data = env.unwrapped.data
    initial = {"qpos": floats(data.qpos), "qvel": floats(data.qvel), "obs": floats(obs)}

    low = env.action_space.low.astype(np.float64)
    high = env.action_space.high.astype(np.float64)
    rng = np.random.default_rng(args.seed)
    actions = rng.uniform(low, high, size=(args.steps, low.size)) * args.action_scale

    steps = []
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        steps.append(
            {
                "action": floats(action),
                "qpos": floats(data.qpos),
                "qvel": floats(data.qvel),
                "obs": floats(obs),
                "reward": float(reward),
                "terminated": bool(terminated),
                "truncated": bool(truncated),
                "info": {k: finite_or_none(v) for k, v in info.items() if np.ndim(v) == 0},
            }
        )
        if terminated or truncated:
            break
    env.close()

    for step in steps:
        for key in ("qpos", "qvel", "obs"):
            if not all(math.isfinite(x) for x in step[key]):
                sys.exit(f"{args.env}: {key} is not finite at step {len(steps)}; pick other actions")

    record = {
        "env": args.env,
        "xml": xml,
        "seed": args.seed,
        "steps_asked": args.steps,
        "action_scale": args.action_scale,
        "gymnasium": gymnasium.__version__,
        "mujoco": mujoco.__version__,
        "dt": float(env.unwrapped.dt),
        "initial": initial,
        "steps": steps,
    }
    with open(args.out, "w") as f:
        json.dump(record, f)


if __name__ == "__main__":
    main()
