"""Build the five LivePortrait networks and load an official (or converted) weights folder strictly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from vivify.errors import InputError
from vivify.nn.appearance_encoder import AppearanceFeatureExtractor
from vivify.nn.motion_encoder import MotionExtractor
from vivify.nn.spade_decoder import SPADEGenerator
from vivify.nn.stitching_mlp import StitchingRetargetingModule
from vivify.nn.warping import WarpingModule
from vivify.weights.download import resolve_weights_dir
from vivify.weights.folder import find_file
from vivify.weights.io import load_checkpoint
from vivify.weights.liveportrait import stitching_state_dict
from vivify.weights.specs import WEIGHT_FILES, WeightFile

# network name → (constructor, official checkpoint → state dict); identity for the four base files
_BUILDERS: dict[str, tuple[Callable[[], nn.Module], Callable[[dict], dict]]] = {
    "appearance_feature_extractor": (AppearanceFeatureExtractor, dict),
    "motion_extractor": (MotionExtractor, dict),
    "warping_module": (WarpingModule, dict),
    "spade_generator": (SPADEGenerator, dict),
    "stitching_retargeting_module": (StitchingRetargetingModule, stitching_state_dict),
}


@dataclass
class LivePortraitModels:
    """The five networks, in eval mode on one device and dtype.

    Attributes:
        appearance_feature_extractor: F, (B,3,256,256) in [0,1] → (B,32,16,64,64).
        motion_extractor: M, (B,3,256,256) in [0,1] → MotionExtractorOutput (raw head outputs).
        warping_module: W, (f_s, kp_driving, kp_source) → WarpingOutput.
        spade_generator: G, (B,256,64,64) → (B,3,512,512) in (0,1).
        stitching_retargeting_module: S, R_lip, R_eyes as ``.stitching``, ``.lip``, ``.eye``.
    """

    appearance_feature_extractor: AppearanceFeatureExtractor
    motion_extractor: MotionExtractor
    warping_module: WarpingModule
    spade_generator: SPADEGenerator
    stitching_retargeting_module: StitchingRetargetingModule


def load_network(spec: WeightFile, path: str | Path, device: str | torch.device = "cpu",
                 dtype: torch.dtype = torch.float32) -> nn.Module:  # fmt: skip
    """Construct one network, load ``path`` strictly, set eval mode, move to device/dtype.

    Raises:
        InputError: the file is unreadable or its keys/shapes are not the official ones.
    """
    build, convert = _BUILDERS[spec.name]
    module = build()
    try:
        state = convert(load_checkpoint(path))
    except KeyError as exc:
        raise InputError(f"not the official {spec.name} layout ({exc.args[0]})", path) from exc
    bad = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise InputError(f"not the official {spec.name} layout: {bad[0]!r} holds no tensor", path)
    state = {k: (v.float() if v.dtype == torch.float16 else v) for k, v in state.items()}  # fp16 copies
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        raise InputError(
            f"does not match the official {spec.name} ({' '.join(lines[1:3])[:300]})", path
        ) from exc
    return module.eval().to(device=device, dtype=dtype)


def load_liveportrait(
    weights_dir: str | Path | None = None,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> LivePortraitModels:
    """Load the five LivePortrait networks from an official-layout folder.

    Args:
        weights_dir: folder holding ``liveportrait/base_models/*.pth`` and
            ``liveportrait/retargeting_models/stitching_retargeting_module.pth`` (``.safetensors``
            copies are accepted); default ``$VIVIFY_WEIGHTS`` or the user cache.
        device, dtype: where and in which precision to run.

    Raises:
        WeightsNotFoundError: files missing (the message says how to get them).
        InputError: a file is unreadable or not the official architecture.

    Examples:
        >>> models = load_liveportrait("~/LivePortrait/pretrained_weights")  # doctest: +SKIP
        >>> f_s = models.appearance_feature_extractor(image_256)  # doctest: +SKIP
    """
    root = resolve_weights_dir(weights_dir)
    nets = {}
    for spec in WEIGHT_FILES:
        path = find_file(root, spec)
        assert path is not None  # resolve_weights_dir checked
        nets[spec.name] = load_network(spec, path, device, dtype)
    return LivePortraitModels(**nets)
