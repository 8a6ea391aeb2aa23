"""How many CPU cores the networks may use, and using exactly that many.

A container limited to a few CPUs (a cgroup CPU quota) still shows every core of its host to
``os.cpu_count()`` and often to the affinity mask, and a runtime that starts one thread per
visible core then runs several threads per core it may use: each convolution waits on
preempted threads. The count here is the affinity mask capped by the quota.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")


def cgroup_cpu_limit(root: Path = CGROUP) -> float | None:
    """CPUs allowed by the cgroup quota (v2 ``cpu.max`` or v1 ``cpu.cfs_quota_us``), None if unlimited."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return None if quota <= 0 or period <= 0 else quota / period
    except (OSError, ValueError):
        return None


def available_cores(root: Path = CGROUP) -> int:
    """CPU cores this process may use: its affinity mask, capped by a cgroup CPU quota."""
    visible = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    limit = cgroup_cpu_limit(root)
    return max(1, min(visible, math.ceil(limit))) if limit else max(1, visible)


def use_cores(threads: int | None = None) -> int:
    """Set PyTorch's intra-op threads: to ``threads`` when given, else down to
    :func:`available_cores` when it would use more. Returns the count in use."""
    import torch  # noqa: PLC0415 - the mesh backend never needs it

    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        torch.set_num_threads(threads)
    elif torch.get_num_threads() > (cores := available_cores()):
        torch.set_num_threads(cores)
    return torch.get_num_threads()
