"""Weights: the official LivePortrait checkpoint format, test weights, loading."""

from vivify.weights.testweights import digest, make_test_state_dicts, write_test_weights

__all__ = ["digest", "make_test_state_dicts", "write_test_weights"]
