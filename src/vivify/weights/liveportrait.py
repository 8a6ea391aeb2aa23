"""The official LivePortrait checkpoint format → vivify modules (the only key mapping needed)."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from vivify.nn.stitching_mlp import StitchingRetargetingModule


def strip_module_prefix(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Remove every ``module.`` (DistributedDataParallel) from the keys, as the official loader does."""
    return {k.replace("module.", ""): v for k, v in state_dict.items()}


def stitching_state_dict(checkpoint: Mapping[str, Mapping[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Flatten the 3-in-1 stitching checkpoint into one state dict of
    :class:`StitchingRetargetingModule` (``stitching.mlp.0.weight``, ``eye.mlp.10.bias``, …)."""
    missing = [
        e
        for e in StitchingRetargetingModule.CHECKPOINT_ENTRIES.values()
        if not isinstance(checkpoint.get(e), Mapping)
    ]
    if missing:
        raise KeyError(f"stitching checkpoint lacks {missing}; it has {sorted(checkpoint)}")
    out = {}
    for name, entry in StitchingRetargetingModule.CHECKPOINT_ENTRIES.items():
        for key, value in strip_module_prefix(checkpoint[entry]).items():
            out[f"{name}.{key}"] = value
    return out
