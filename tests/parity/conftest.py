"""Parity against the reference fixtures (shared/reference/fixtures, or $VIVIFY_FIXTURES).

The fixtures' seed is read from their meta.json and the test weights are regenerated from it, so
the same tests run unchanged on any fixture set of the same layout. ``fixtures_root``,
``fixtures_meta``, ``test_weights_dir`` and ``models`` live in tests/conftest.py (the backend
tests use them too).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch


def _slice(spec: str) -> tuple:
    """Parse numpy slice text like '[:, ::3, 1:5]' into a tuple of slices."""
    parts = []
    for item in spec.strip()[1:-1].split(","):
        item = item.strip()
        if item == "...":
            parts.append(Ellipsis)
        elif ":" in item:
            parts.append(slice(*[int(x) if x.strip() else None for x in item.split(":")]))
        else:
            parts.append(int(item))
    return tuple(parts)


class ParityFixture:
    """One fixture file (e.g. 'warping_module') with its meta data and comparison rules."""

    def __init__(self, root: Path, name: str, meta: dict, results: list | None = None) -> None:
        self.root, self.name, self.meta = root, name, meta
        self.results = [] if results is None else results  # (fixture, key, measured, tolerance)
        self.arrays = np.load(root / f"{name}.npz", allow_pickle=False)
        self.spec = meta["fixtures"][name]

    def __getitem__(self, key: str) -> np.ndarray:
        """A stored array (prefix included, e.g. 'in__x'), following links to other files."""
        info = self.spec["arrays"].get(key, {})
        if key not in self.arrays.files and "link" in info:
            other, other_key = info["link"].split(":")
            return ParityFixture(self.root, other, self.meta, self.results)[other_key]
        return self.arrays[key]

    def tensor(self, key: str) -> torch.Tensor:
        """A stored input as a float32 (or int) tensor; float16-stored links become float32."""
        arr = self[key]
        return torch.from_numpy(arr.astype(np.float32) if arr.dtype == np.float16 else arr.copy())

    def keys(self, role: str) -> list[str]:
        return [k for k, v in self.spec["arrays"].items() if v.get("role") == role]

    def check(self, key: str, got, source: bool = True) -> dict:
        """Compare ``got`` with stored array ``key`` (e.g. 'out__deformation').

        ``got`` may be the full tensor the entry was sliced or reduced from (``source``), which is
        sliced/reduced here. Raises AssertionError with the metrics when out of tolerance.
        """
        info = self.spec["arrays"][key]
        short = re.sub(r"^(in|out|mid)__", "", key)
        tol = self.spec["tolerances"][short]
        got = got.detach().cpu().numpy() if isinstance(got, torch.Tensor) else np.asarray(got)
        ref = self[key]
        if source and "slice" in info:
            got = got[_slice(info["slice"])]
        if source and "reduce" in info:
            flat = got.astype(np.float64).reshape(got.shape[0], got.shape[1], -1)
            got = np.abs(flat).sum(-1) if "|" in info["reduce"] else flat.sum(-1)
        assert got.size == ref.size, f"{key}: shape {got.shape} vs reference {ref.shape}"
        got = got.reshape(ref.shape)
        if ref.dtype == np.uint8:
            diff = np.abs(got.astype(np.int64) - ref.astype(np.int64))
            res = {"max_abs": int(diff.max()), "frac_diff": float((diff > 0).mean())}
            self.results.append((self.name, key, res, tol))
            assert res["max_abs"] <= tol["max_abs"] and res["frac_diff"] <= tol["frac_diff"], (
                f"{key}: {res} vs {tol}"
            )
            return res
        g, r = got.astype(np.float64), ref.astype(np.float64)
        assert np.isfinite(g).all(), f"{key}: non-finite values"
        err = np.abs(g - r)
        if info.get("stored_as") == "float16" or ref.dtype == np.float16:
            err = np.maximum(err - 2.0**-11 * np.maximum(np.abs(r), 2.0**-14), 0.0)
        res = {
            "max_abs": float(err.max()),
            "rel_l2": float(np.linalg.norm(err) / max(np.linalg.norm(r), 1e-30)),
        }
        self.results.append((self.name, key, res, tol))
        assert res["max_abs"] <= tol["max_abs"] and res["rel_l2"] <= tol["rel_l2"], f"{key}: {res} vs {tol}"
        return res


@pytest.fixture(scope="session")
def parity(fixtures_root, fixtures_meta, pytestconfig):
    """Factory: ``parity('warping_module')`` -> :class:`ParityFixture`.

    Every comparison is recorded on ``pytestconfig.parity_results`` and printed at the end of the
    run by tests/conftest.py.
    """
    if not hasattr(pytestconfig, "parity_results"):
        pytestconfig.parity_results = []
    results = pytestconfig.parity_results
    return lambda name: ParityFixture(fixtures_root, name, fixtures_meta, results)


@pytest.fixture(scope="session")
def official_state_dict(test_weights_dir):
    """Factory: ``official_state_dict('warping_module.pth')`` -> the file's dict, loaded safely."""

    from vivify.weights import WEIGHT_FILES

    relpaths = {spec.filename: spec.relpath for spec in WEIGHT_FILES}

    def load(file: str) -> dict:
        return torch.load(test_weights_dir / relpaths[file], map_location="cpu", weights_only=True)

    return load
