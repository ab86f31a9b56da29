"""``vagent --help`` start-up time: ``python -m benchmarks.bench_cli_help``.

Runs ``vagent --help`` and, as the baseline measured in the same run, a bare ``python -c
pass``, each ``--runs`` times in fresh interpreters; prints the medians and their
difference (what vagent adds). Target: under 300 ms on a quiet machine. The laziness that
makes it fast is asserted structurally by tests/console/test_cli_run.py (no trio, livekit,
numpy, anyio or httpx imported).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def _median_seconds(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    baseline = _median_seconds([sys.executable, "-c", "pass"], args.runs)
    help_time = _median_seconds([sys.executable, "-m", "vagent.cli", "--help"], args.runs)
    print(f"python -c pass      median {baseline * 1000:6.0f} ms")
    print(f"vagent --help       median {help_time * 1000:6.0f} ms")
    print(f"added by vagent            {(help_time - baseline) * 1000:6.0f} ms")


if __name__ == "__main__":
    main()
