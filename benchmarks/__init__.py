"""Benchmarks: vagent side by side with livekit-agents (``python -m benchmarks``).

This package must stay importable from the reference environment (no vagent imports here or
in :mod:`benchmarks.workloads.spec`).
"""
