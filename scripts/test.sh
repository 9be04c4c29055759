#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian/Ubuntu machine, then runs the whole suite.
# Python packages go into the active venv/conda environment, or ./.venv (PEP 668 keeps them out of
# the system python3). Usage (from the project root): bash scripts/test.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
# grep reads every line (no -q): an early exit would kill fc-list and, with pipefail, fail the check.
has_font() { fc-list 2>/dev/null | grep -i "$1" >/dev/null; }
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v redis-server >/dev/null || need_apt+=(redis-server)  # -m cluster: deploy/cluster.sh
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need_apt+=(nginx)
has_font dejavu || need_apt+=(fonts-dejavu-core)
has_font "noto color emoji" || need_apt+=(fonts-noto-color-emoji)
has_font "noto sans cjk" || need_apt+=(fonts-noto-cjk)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi
# python3-venv comes from apt there too, when it is missing.
# shellcheck source=scripts/python_env.sh
. scripts/python_env.sh
"$PY" -m pip install -q --disable-pip-version-check -r requirements-dev.txt
"$PY" -m pytest "$@"
