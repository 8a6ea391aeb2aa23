"""Shared fixtures for the whole test suite."""

from __future__ import annotations

from pathlib import Path

import pytest


def _shared(name: str) -> Path:
    """A folder of ``../shared`` beside the repo root; skip the test if it is absent."""
    path = Path(__file__).resolve().parents[1] / ".." / "shared" / name
    if not path.is_dir():
        pytest.skip(f"shared {name} not found at {path}")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real test media folder (``../shared/data``)."""
    return _shared("data")


@pytest.fixture(scope="session")
def shared_reference() -> Path:
    """The LivePortrait reference material (``../shared/reference``)."""
    return _shared("reference")


@pytest.fixture(scope="session")
def manifest(shared_reference) -> dict:
    """The official checkpoint manifest; the copy vivify ships must be the same."""
    import json

    from vivify.weights import manifest as shipped

    data = json.loads((shared_reference / "checkpoint-manifest.json").read_text())
    assert shipped() == data, "src/vivify/weights/data/liveportrait-manifest.json is out of date"
    return data


@pytest.fixture(scope="session")
def detector():
    """One MediaPipe face detector for the whole session (building its graphs takes ~0.1 s)."""
    from vivify.face import MediaPipeFaceDetector

    with MediaPipeFaceDetector() as det:
        yield det


def pytest_terminal_summary(terminalreporter, config) -> None:
    """Print the error of every tensor compared by the parity tests beside its tolerance."""
    results = getattr(config, "parity_results", [])
    if not results:
        return
    terminalreporter.section("parity: measured error / tolerance per tensor")
    for name, key, res, tol in results:
        second = "frac_diff" if "frac_diff" in res else "rel_l2"
        line = (
            f"max_abs {res['max_abs']:.1e} / {tol['max_abs']:.0e}  "
            f"{second} {res[second]:.1e} / {tol[second]:.0e}"
        )
        terminalreporter.write_line(f"{name:28s} {key:42s} {line}")
