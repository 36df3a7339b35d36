"""fastrdd's benchmarks: micro (pytest-benchmark) and macro (python -m benchmarks.X)."""
