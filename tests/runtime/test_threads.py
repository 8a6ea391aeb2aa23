"""CPU cores the networks may use: affinity mask capped by a container's CPU quota."""

import os

import pytest
import torch

from vivify.backends import SpeedOptions
from vivify.runtime.threads import available_cores, cgroup_cpu_limit, use_cores


def _visible() -> int:
    return len(os.sched_getaffinity(0))


def test_cgroup_v2_quota(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cgroup_cpu_limit(tmp_path) == 1.5
    assert available_cores(tmp_path) == min(_visible(), 2)  # 1.5 CPUs of time: two threads
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_limit(tmp_path) is None
    assert available_cores(tmp_path) == _visible()


def test_cgroup_v1_quota(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("100000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpu_limit(tmp_path) == 1.0
    assert available_cores(tmp_path) == 1
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_cpu_limit(tmp_path) is None


def test_no_cgroup_files(tmp_path):
    assert cgroup_cpu_limit(tmp_path) is None
    assert available_cores(tmp_path) == _visible()


def test_use_cores_sets_and_caps_torch_threads(monkeypatch):
    before = torch.get_num_threads()
    try:
        assert use_cores(1) == 1 and torch.get_num_threads() == 1
        torch.set_num_threads(64)  # more than this process may use: brought down
        monkeypatch.setattr("vivify.runtime.threads.available_cores", lambda: 2)
        assert use_cores() == 2
        assert use_cores() == 2  # already within: left alone
        with pytest.raises(ValueError, match="threads"):
            use_cores(0)
    finally:
        torch.set_num_threads(before)


def test_speed_options_check_threads():
    with pytest.raises(ValueError, match="threads"):
        SpeedOptions(threads=0)
    assert SpeedOptions(threads=3).threads == 3
