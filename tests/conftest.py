"""Shared fixtures for the whole test suite."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REFERENCE = Path(__file__).resolve().parents[1] / ".." / "shared" / "reference"  # default fixtures


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


# The reference fixtures and the deterministic test weights of their seed (the parity tests and
# the neural backend's tests share one copy per session).


@pytest.fixture(scope="session")
def fixtures_root() -> Path:
    root = Path(os.environ.get("VIVIFY_FIXTURES", REFERENCE / "fixtures"))
    if not (root / "meta.json").is_file():
        pytest.fail(f"reference fixtures not found at {root} (set VIVIFY_FIXTURES)")
    return root


@pytest.fixture(scope="session")
def fixtures_meta(fixtures_root) -> dict:
    return json.loads((fixtures_root / "meta.json").read_text())


@pytest.fixture(scope="session")
def test_weights_dir(tmp_path_factory, manifest, fixtures_meta) -> Path:
    """An official-layout weights folder with the fixtures' seed (written once per session)."""
    from vivify.weights import write_test_weights

    out = tmp_path_factory.mktemp("weights")
    digests = write_test_weights(manifest, int(fixtures_meta["seed"]), out)
    expected = fixtures_meta.get("weights_sha256")
    if expected:
        assert digests == expected, "test weights differ from the fixtures' weights"
    return out


@pytest.fixture(scope="session")
def models(test_weights_dir):
    """The five networks loaded through the public loader from the seeded test weights."""
    import vivify

    return vivify.load_liveportrait(test_weights_dir)


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
