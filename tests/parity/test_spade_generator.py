"""SPADE generator G against the official reference (fixture ``spade_generator``)."""

from __future__ import annotations

import torch

from vivify.nn.spade_decoder import SPADEGenerator


def test_spade_generator_matches_official(parity, models) -> None:
    fixture = parity("spade_generator")
    model = models.spade_generator
    assert isinstance(model, SPADEGenerator) and not model.training

    # probes: outputs of the named submodules ("conv_img" = pixel-shuffled logits)
    probes: dict[str, torch.Tensor] = {}
    wanted = {fixture.spec["arrays"][k]["source"] for k in fixture.keys("mid")}
    for name in wanted:
        module = model.get_submodule(name)
        module.register_forward_hook(lambda _m, _i, out, name=name: probes.__setitem__(name, out))

    with torch.no_grad():
        out = model(fixture.tensor("in__feature").float())

    assert out.shape == (1, 3, 512, 512)
    checked = {"out__out": fixture.check("out__out", out)}
    for key in fixture.keys("mid"):
        checked[key] = fixture.check(key, probes[fixture.spec["arrays"][key]["source"]])
    assert set(checked) == set(fixture.keys("out")) | set(fixture.keys("mid"))
