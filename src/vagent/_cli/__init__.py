"""Implementation of the ``vagent`` command (public entry points live in :mod:`vagent.cli`)."""
