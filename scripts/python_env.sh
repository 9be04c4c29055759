# Sourced by scripts/run.sh and scripts/test.sh: sets PY to the Python to install into and run with.
# An active venv or conda environment is used as it is; otherwise the project's own .venv is created
# (or reused) because a stock Debian/Ubuntu python3 refuses pip installs (PEP 668); it sees the packages
# the system python3 already has, so nothing is installed twice.
if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
  PY="$VIRTUAL_ENV/bin/python"
elif [ -n "${CONDA_PREFIX:-}" ] && [ -x "$CONDA_PREFIX/bin/python" ]; then
  PY="$CONDA_PREFIX/bin/python"
else
  if [ ! -x .venv/bin/python ]; then
    if ! python3 -c "import ensurepip, venv" 2>/dev/null; then
      SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
      $SUDO apt-get update -q
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends python3-venv
    fi
    python3 -m venv --system-site-packages .venv
  fi
  PY=.venv/bin/python
fi
