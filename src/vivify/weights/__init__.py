"""Weights: the official LivePortrait checkpoint format, test weights, loading, download."""

from vivify.weights.build import LivePortraitModels, load_liveportrait, load_network
from vivify.weights.download import (
    WeightsNotFoundError,
    default_weights_dir,
    download_weights,
    resolve_weights_dir,
)
from vivify.weights.folder import check_folder, convert_folder, find_file
from vivify.weights.io import load_checkpoint, save_safetensors
from vivify.weights.specs import HF_REPO, WEIGHT_FILES, WeightFile, manifest
from vivify.weights.testweights import digest, make_test_state_dicts, write_test_weights

__all__ = [
    "LivePortraitModels",
    "load_liveportrait",
    "load_network",
    "HF_REPO",
    "WEIGHT_FILES",
    "WeightFile",
    "WeightsNotFoundError",
    "check_folder",
    "convert_folder",
    "default_weights_dir",
    "digest",
    "download_weights",
    "find_file",
    "load_checkpoint",
    "make_test_state_dicts",
    "manifest",
    "resolve_weights_dir",
    "save_safetensors",
    "write_test_weights",
]
