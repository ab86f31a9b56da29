"""Workloads run by both frameworks; :mod:`.spec` holds the shared script (framework-free)."""
