#!/usr/bin/env bash
# Installs what the Slurm executor's tests drive, when it is missing: Debian's slurmctld,
# slurmd, slurm-client and munge, from which tests/slurm.rs brings up a single-node cluster on
# 127.0.0.1 (scripts/slurm-local.sh), and slurmdbd with mariadb-server for its job accounting
# (sacct).
exec "$(dirname "${BASH_SOURCE[0]}")/apt-missing.sh" "the Slurm tests" \
    slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client munged:munge \
    slurmdbd:slurmdbd mariadbd:mariadb-server
