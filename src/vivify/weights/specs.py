"""What the official LivePortrait weights folder holds and where each file lives."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

HF_REPO = "KwaiVGI/LivePortrait"


@dataclass(frozen=True)
class WeightFile:
    """One checkpoint file of the official layout.

    Attributes:
        name: network name (also the vivify attribute name on the loaded bundle).
        filename: file name in the official folder.
        subfolder: folder relative to the weights root.
    """

    name: str
    filename: str
    subfolder: str

    @property
    def relpath(self) -> str:
        return f"{self.subfolder}/{self.filename}"


WEIGHT_FILES = (
    WeightFile(
        "appearance_feature_extractor", "appearance_feature_extractor.pth", "liveportrait/base_models"
    ),
    WeightFile("motion_extractor", "motion_extractor.pth", "liveportrait/base_models"),
    WeightFile("warping_module", "warping_module.pth", "liveportrait/base_models"),
    WeightFile("spade_generator", "spade_generator.pth", "liveportrait/base_models"),
    WeightFile(
        "stitching_retargeting_module", "stitching_retargeting_module.pth", "liveportrait/retargeting_models"
    ),
)


@lru_cache(maxsize=1)
def manifest() -> dict:
    """Every key, shape and dtype of the five official files (shipped with vivify)."""
    return json.loads((Path(__file__).with_name("data") / "liveportrait-manifest.json").read_text())


def expected_tensors(filename: str) -> dict[str, dict[str, tuple[tuple[int, ...], str]]]:
    """``{subdict: {key: (shape, dtype)}}`` for one file; subdict ``""`` for the plain files."""
    spec = manifest()["files"][filename]
    groups = spec["subdicts"].items() if "subdicts" in spec else [("", spec)]
    return {sub: {t["key"]: (tuple(t["shape"]), t["dtype"]) for t in g["tensors"]} for sub, g in groups}
