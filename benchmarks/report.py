"""What every benchmark shares: one percentile definition and one way to publish its table."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of unsorted values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def publish(name: str, lines: list[str]) -> None:
    """Write benchmarks/results/<name>.md and print the same table."""
    RESULTS.mkdir(exist_ok=True)
    text = "\n".join(lines)
    (RESULTS / f"{name}.md").write_text(text + "\n")
    print(text)
