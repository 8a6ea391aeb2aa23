"""Shared helpers for the benchmark scripts: data location, timing, statistics, Markdown tables."""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import numpy as np

T = TypeVar("T")
P = ParamSpec("P")

#: The shared real media (``../shared/data`` from the repository root).
DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def parse_args(description: str) -> argparse.Namespace:
    """Common command line: ``--data`` folder and ``--quick`` smoke mode."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="media folder (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="few frames/repeats: finishes in about a minute")
    args = parser.parse_args()
    args.data = args.data.resolve()
    if not args.data.is_dir():
        parser.error(f"data folder not found: {args.data}")
    return args


def cpu_name() -> str:
    """CPU model from /proc/cpuinfo (falls back to ``platform.processor()``)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def device_line() -> str:
    """One line describing where the numbers were measured."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"Device: {cpu_name()}, {cores} cores available, Python {platform.python_version()}, no GPU used; "
        f"{load_note()} at start"
    )


def load_note() -> str:
    """The 1-minute load average: other processes on this small machine skew the timings."""
    try:
        return f"load average {os.getloadavg()[0]:.2f}"
    except OSError:
        return "load average unknown"


def now() -> float:
    """Monotonic high-resolution clock in seconds."""
    return time.perf_counter()


def timed(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> tuple[T, float]:
    """Call ``fn(*args, **kwargs)`` once; return its result and the elapsed milliseconds."""
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, (time.perf_counter() - t0) * 1000.0


def best_of(repeats: int, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> tuple[T, float]:
    """Call ``fn(*args, **kwargs)`` once untimed (warm-up), then ``repeats`` times timed; return the
    last result and the median milliseconds."""
    result: Any = fn(*args, **kwargs)
    times: list[float] = []
    for _ in range(max(1, repeats)):
        result, ms = timed(fn, *args, **kwargs)
        times.append(ms)
    return result, median(times)


def median(values: Sequence[float]) -> float:
    return float(np.median(values)) if len(values) else float("nan")


def p90(values: Sequence[float]) -> float:
    return float(np.percentile(values, 90)) if len(values) else float("nan")


def fmt(value: Any, digits: int = 1) -> str:
    """Table cell: floats with ``digits`` decimals, None/NaN as a dash."""
    if value is None:
        return "-"
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return "-"
        if np.isinf(value):
            return "inf"
        return f"{round(float(value), digits) + 0.0:.{digits}f}"  # + 0.0: no "-0.0"
    return str(value)


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]], note: str = "") -> None:
    """Print a Markdown table (cells already formatted or formatted with :func:`fmt`)."""
    cells = [[c if isinstance(c, str) else fmt(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    print(f"\n### {title}\n")
    if note:
        print(f"{note}\n")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    print(flush=True)
