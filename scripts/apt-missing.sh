#!/usr/bin/env bash
# Installs the Debian packages whose programs are missing, for the tests that drive them:
#   scripts/apt-missing.sh "the Slurm tests" slurmctld:slurmctld sbatch:slurm-client ...
# Each COMMAND:PACKAGE pair installs PACKAGE when COMMAND is not on the PATH. It needs root or
# passwordless sudo and apt-get; without them, or when the install fails, it says what is
# missing, and those tests skip with a printed reason.
set -euo pipefail
what=$1
shift
missing=()
for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    echo "note: ${missing[*]} missing and no root to install them; $what will skip" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "note: ${missing[*]} missing and no apt-get; $what will skip" >&2
    exit 0
fi
echo "installing ${missing[*]} (Debian packages) for $what" >&2
export DEBIAN_FRONTEND=noninteractive
apt_install() { "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
if ! apt_install && ! { "${sudo[@]}" apt-get update >/dev/null && apt_install; }; then
    echo "note: could not install ${missing[*]}; $what will skip" >&2
fi
