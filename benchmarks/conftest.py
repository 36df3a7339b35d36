"""Benchmarks run as pytest-benchmark functions; CI runs them once with --benchmark-disable."""
