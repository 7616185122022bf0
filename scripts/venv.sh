# Sourced by run.sh and test.sh: create the virtual environment on first use and (re)install the project
# whenever pyproject.toml changes, so both commands work on a fresh machine with nothing but Python 3.11+.
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    echo "Creating the virtual environment in $VENV ..."
    "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)-$1"
if [ ! -f "$stamp" ]; then
    echo "Installing the project and its dependencies into $VENV ..."
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e ".[$1]"
    rm -f "$VENV"/.installed-*
    touch "$stamp"
fi
