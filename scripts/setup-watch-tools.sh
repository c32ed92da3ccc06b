#!/usr/bin/env bash
# Installs the programs the viewer and workbench tests drive, when they are missing: Debian's
# chromium (the workbench in a real browser), xvfb and x11-apps (the replay window and its
# screenshot), ffmpeg (MP4/WebM videos). It needs root or passwordless sudo; without either it
# says what is missing, and those tests skip with a printed reason.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v Xvfb >/dev/null 2>&1 || missing+=(xvfb)
command -v xwd >/dev/null 2>&1 || missing+=(x11-apps)
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    echo "note: ${missing[*]} missing and no root to install them; the browser, replay-window and video tests will skip" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "note: ${missing[*]} missing and no apt-get; the browser, replay-window and video tests will skip" >&2
    exit 0
fi
echo "installing ${missing[*]} (Debian packages) for the viewer and workbench tests" >&2
export DEBIAN_FRONTEND=noninteractive
apt_install() { "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
if ! apt_install && ! { "${sudo[@]}" apt-get update >/dev/null && apt_install; }; then
    echo "note: could not install ${missing[*]}; the browser, replay-window and video tests will skip" >&2
fi
