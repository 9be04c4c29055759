#!/usr/bin/env bash
# Installs the app's packages (into the active venv/conda environment, or ./.venv) and starts it.
# Usage (from the project root): bash scripts/run.sh [extra streamlit args]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/python_env.sh
. scripts/python_env.sh
"$PY" -m pip install -q --disable-pip-version-check -r requirements.txt
exec "$PY" -m streamlit run app.py "$@"
