"""Motion extractor M vs the official outputs (fixture ``motion_extractor.npz``)."""

from __future__ import annotations

import re

import pytest
import torch

from vivify.nn.motion_encoder import MotionExtractor, MotionExtractorConfig

FIXTURE = "motion_extractor"
HEADS = ("pitch", "yaw", "roll", "t", "exp", "scale", "kp")


@pytest.fixture(scope="module")
def model(models) -> MotionExtractor:
    net = models.motion_extractor
    assert isinstance(net, MotionExtractor) and net.config == MotionExtractorConfig() and not net.training
    return net


@pytest.fixture(scope="module")
def results(model, parity) -> tuple[list, dict[str, torch.Tensor]]:
    """Per-image outputs (batch 1 each) and the module outputs named by ``source`` for image 0."""
    fx = parity(FIXTURE)
    sources = {fx.spec["arrays"][k]["source"] for k in fx.keys("mid")}
    captured: dict[str, torch.Tensor] = {}
    modules = dict(model.named_modules())

    def keep_first(name: str):
        def hook(_module: torch.nn.Module, _inputs: tuple, out: torch.Tensor) -> None:
            # Returns None: a hook returning a value would replace the module's output.
            captured.setdefault(name, out.detach().clone())

        return hook

    hooks = [modules[name].register_forward_hook(keep_first(name)) for name in sources]
    x = fx.tensor("in__x")
    outputs = []
    try:
        with torch.no_grad():
            for i in range(x.shape[0]):
                # setdefault keeps image 0's intermediates, the only ones stored.
                outputs.append(model(x[i : i + 1].contiguous().float()))
    finally:
        for h in hooks:
            h.remove()
    return outputs, captured


def test_strict_load_matches_manifest(model, manifest) -> None:
    expected = {t["key"]: tuple(t["shape"]) for t in manifest["files"]["motion_extractor.pth"]["tensors"]}
    got = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert got == expected


@pytest.mark.parametrize("name", HEADS)
def test_outputs(results, parity, name: str) -> None:
    outputs, _ = results
    got = torch.cat([getattr(o, name) for o in outputs], dim=0)
    parity(FIXTURE).check(f"out__{name}", got)


def test_intermediates(results, parity) -> None:
    _, captured = results
    fx = parity(FIXTURE)
    for key in fx.keys("mid"):
        fx.check(key, captured[fx.spec["arrays"][key]["source"]])


def test_every_output_key_is_checked(parity) -> None:
    # Guard: a fixture set with more outputs must not pass with some of them unchecked.
    outs = {re.sub(r"^out__", "", k) for k in parity(FIXTURE).keys("out")}
    assert outs == set(HEADS)
