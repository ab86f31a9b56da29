"""Latency distributions, vagent vs livekit-agents (reference venv: it has matplotlib).

``python -m benchmarks.reference.plot SAMPLES.json OUT.png``; the JSON maps a figure name to
``{"vagent": [seconds...], "livekit-agents": [seconds...]}``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main() -> None:
    samples: dict[str, dict[str, list[float]]] = json.loads(Path(sys.argv[1]).read_text())
    names = [n for n, s in samples.items() if any(s.values())]
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 4.2), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        sides = samples[name]
        labels = list(sides)
        data = [[v * 1000 for v in sides[label]] or [float("nan")] for label in labels]
        ax.boxplot(data, whis=(1, 99), showfliers=True)
        ax.set_xticks(range(1, len(labels) + 1), labels)
        ax.set_yscale("log")
        ax.set_title(name, fontsize=10)
        ax.set_ylabel("ms (log)")
        ax.grid(True, axis="y", alpha=0.3)
    fig.suptitle("Framework overhead, zero-latency fakes (box: p25-p75, whiskers: p1-p99)")
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=90)


if __name__ == "__main__":
    main()
