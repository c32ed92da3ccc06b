#!/usr/bin/env bash
# Installs the programs the viewer and workbench tests drive, when they are missing: Debian's
# chromium (the workbench in a real browser), xvfb and x11-apps (the replay window and its
# screenshot), ffmpeg (MP4/WebM videos).
exec "$(dirname "${BASH_SOURCE[0]}")/apt-missing.sh" "the browser, replay-window and video tests" \
    chromium:chromium Xvfb:xvfb xwd:x11-apps ffmpeg:ffmpeg
