"""``python -m vagent.console <agent file> [--audio] [--input FILE] [--log-level L]``."""

from __future__ import annotations

import sys

from vagent.cli import main
from vagent.console import register

if __name__ == "__main__":
    register()
    main(["console", *sys.argv[1:]])
