#!/usr/bin/env bash
# Install fastrdd from this checkout into a fresh virtualenv and run the
# README's test command, then the benchmark smoke run and the size budget.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install -q --upgrade pip

# The README's test command (Quick start, second line):
pip install -e ".[test]" && python -m pytest

# Benchmarks must not rot: each runs once, untimed.
python -m pytest benchmarks --benchmark-disable -q -p no:cacheprovider

# Engine modules stay within the size budget (STYLE.md A.6).
python ci/line_budget.py
