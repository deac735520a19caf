"""``model.stem: lean``: an opt-in architecture whose levels run at half resolution.

The default (``stem: full``) must build exactly the networks it always built: the same
modules, parameter names and shapes, and config dicts without the new key.
"""

from __future__ import annotations

import pytest
import torch

from vqseg_core.models import ModelConfig, build_model
from vqseg_core.models.budget import model_state_numel
from vqseg_core.train.config import TrainConfig, config_from_dict

SMALL = dict(in_channels=1, out_channels=3, channels=(8, 16, 32), norm_groups=4, codebook_size=8,
             codebook_dim=16, skip_codebook_size=4)  # fmt: skip


@pytest.mark.parametrize("kind", ["unet", "vqunet", "vqskip"])
@pytest.mark.parametrize("upsample", ["nearest", "transpose"])
@pytest.mark.parametrize("sd", [2, 3])
def test_lean_keeps_the_input_shape_and_the_count_is_exact(kind, upsample, sd) -> None:
    config = ModelConfig(kind=kind, spatial_dims=sd, upsample=upsample, stem="lean", **SMALL)
    model = build_model(config).eval()
    assert model.factor == 8  # one more halving than the 2 levels' 4
    shape = (12, 20) if sd == 2 else (12, 8, 20)
    with torch.no_grad():
        out = model.forward_with_aux(torch.rand(2, 1, *shape))
    assert out.logits.shape == (2, 3, *shape)
    assert model.latent_shape(shape) == tuple(-(-s // 8) for s in shape)
    state = model.state_dict()
    floats = sum(t.numel() for t in state.values() if t.dtype != torch.bool)
    assert model_state_numel(config)[0] == floats


def test_lean_costs_about_a_quarter_of_the_flops() -> None:
    from torch.utils.flop_counter import FlopCounterMode

    def gflops(stem: str) -> float:
        model = build_model(ModelConfig(kind="unet", stem=stem, **SMALL)).eval()
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(torch.rand(1, 1, 64, 64))
        return counter.get_total_flops()

    assert gflops("lean") < 0.4 * gflops("full")


def test_the_default_builds_the_same_network_and_dict_as_before() -> None:
    torch.manual_seed(0)
    default = build_model(ModelConfig(kind="vqunet", **SMALL))
    torch.manual_seed(0)
    explicit = build_model(ModelConfig(kind="vqunet", stem="full", **SMALL))
    a, b = default.state_dict(), explicit.state_dict()
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)
    assert "stem" not in ModelConfig().to_dict()
    assert "stem" not in TrainConfig().to_dict()["model"]
    assert ModelConfig(stem="lean").to_dict()["stem"] == "lean"
    lean = config_from_dict({"model": {"stem": "lean"}})
    assert lean.model.stem == "lean" and config_from_dict(lean.to_dict()) == lean


def test_an_unknown_stem_is_refused_naming_the_key() -> None:
    from vqseg_core.train.config_check import check_config

    with pytest.raises(ValueError, match=r"stem must be one of \('full', 'lean'\), got 'tiny'"):
        check_config(config_from_dict({"model": {"stem": "tiny"}}))
