#!/usr/bin/env bash
# Install fastrdd from this checkout into a fresh virtualenv and run the
# README's test command, then the benchmark smoke run, the size budget and
# the layering check; then the suite again on the oldest supported Python
# (requires-python's floor) and the newest one pyenv has, when they differ
# from python3.
set -euo pipefail
cd "$(dirname "$0")/.."

# The web UI's browser tests drive Debian's headless Chromium; install it where we can
# (CI runs as root on Debian), else those tests skip and say why.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "== installing chromium and chromium-driver (browser tests of the web UI)"
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            chromium chromium-driver >/dev/null) || echo "chromium: install failed, browser tests will skip"
    else
        echo "chromium: not installed and not root with apt-get, browser tests will skip"
    fi
fi

python3 -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install -q --upgrade pip

# The README's test command (Quick start, second line):
pip install -e ".[test]" && python -m pytest

# Benchmarks must not rot: each runs once, untimed.
python -m pytest benchmarks --benchmark-disable -q -p no:cacheprovider

# Engine modules stay within the size budget (STYLE.md A.6), imports point down.
python ci/line_budget.py
python ci/layers.py
deactivate

# The floor and the newest Python, each in a virtualenv of its own.
floor=$(sed -n 's/^requires-python = ">=\([0-9.]*\)"/\1/p' pyproject.toml)
main=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
if [ ! -d "$root/versions" ]; then
    echo "other Pythons: skipped, pyenv not found (ran on $main only; floor is $floor)"
    exit 0
fi
newest=$(ls "$root/versions" | grep -E '^3\.[0-9]+\.[0-9]+$' | sort -V | tail -n 1)
floor_full=$(ls "$root/versions" | grep -E "^${floor//./\\.}\.[0-9]+$" | sort -V | tail -n 1 || true)
for version in $floor_full $newest; do
    [ "${version%.*}" = "$main" ] && { echo "Python $version: same as python3, already run"; continue; }
    echo "== the suite on Python $version"
    "$root/versions/$version/bin/python" -m venv ".venv-$version"
    ".venv-$version/bin/python" -m pip install -q --upgrade pip
    ".venv-$version/bin/pip" install -q -e ".[test]"
    ".venv-$version/bin/python" -m pytest -q -p no:cacheprovider
done
[ -n "$floor_full" ] || echo "Python $floor (the floor): skipped, pyenv has no $floor.x"
