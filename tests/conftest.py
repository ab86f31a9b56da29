"""Shared test configuration: pytest-trio runs every async test (``trio_mode = true``).

Use the ``autojump_clock`` fixture from pytest-trio for virtual time.
"""
