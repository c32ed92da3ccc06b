#!/usr/bin/env bash
# Installs what the Slurm executor's tests drive, when it is missing: Debian's slurmctld,
# slurmd, slurm-client and munge, from which tests/slurm.rs brings up a single-node cluster on
# 127.0.0.1 (scripts/slurm-local.sh), and slurmdbd with mariadb-server for its job accounting
# (`sacct`). It needs root or passwordless sudo; without either it
# says what is missing, and those tests skip with a printed reason.
set -euo pipefail
missing=()
command -v slurmctld >/dev/null 2>&1 || missing+=(slurmctld)
command -v slurmd >/dev/null 2>&1 || missing+=(slurmd)
command -v sbatch >/dev/null 2>&1 || missing+=(slurm-client)
command -v munged >/dev/null 2>&1 || missing+=(munge)
command -v slurmdbd >/dev/null 2>&1 || missing+=(slurmdbd)
command -v mariadbd >/dev/null 2>&1 || missing+=(mariadb-server)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    echo "note: ${missing[*]} missing and no root to install them; the Slurm tests will skip" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "note: ${missing[*]} missing and no apt-get; the Slurm tests will skip" >&2
    exit 0
fi
echo "installing ${missing[*]} (Debian packages) for the Slurm executor's tests" >&2
export DEBIAN_FRONTEND=noninteractive
apt_install() { "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
if ! apt_install && ! { "${sudo[@]}" apt-get update >/dev/null && apt_install; }; then
    echo "note: could not install ${missing[*]}; the Slurm tests will skip" >&2
fi
