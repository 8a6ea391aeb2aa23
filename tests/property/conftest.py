"""Hypothesis settings for the property tests: reproducible and quick by default.

The ``vivify-ci`` profile (the default) derives every example from the test itself
(``derandomize=True``), so a run explores the same cases everywhere and a failure reproduces as
is; it keeps no example database in the working tree and sets no per-example deadline (timings on
a shared CI runner vary). Set ``VIVIFY_HYPOTHESIS_PROFILE=vivify-explore`` to search much further
with fresh random examples, e.g. after changing one of the functions under test.

The tensors here are tiny, so PyTorch runs them on one thread: waking a thread pool for each of
thousands of small operations costs more than the work, most of all on a busy machine.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "vivify-ci",
    derandomize=True,
    max_examples=40,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("vivify-explore", max_examples=2000, deadline=None, database=None)
settings.load_profile(os.environ.get("VIVIFY_HYPOTHESIS_PROFILE", "vivify-ci"))


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """One intra-op thread while a property module runs; the previous setting afterwards."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
