"""The memory budget of networks: exact sizes from the config alone, refused before building."""

from __future__ import annotations

import itertools
import pickle

import pytest
import torch

from vqseg_core.models import ModelConfig, build_model
from vqseg_core.models.budget import (
    DEFAULT_CAP,
    MemoryBudgetError,
    check_array_budget,
    check_model_budget,
    format_bytes,
    memory_budget,
    model_bytes,
    model_state_numel,
    parse_size,
)


def _config(kind: str, sd: int, up: str, ema, n: int, dim: int, skips) -> ModelConfig:
    return ModelConfig(
        kind=kind, spatial_dims=sd, in_channels=2, out_channels=3, channels=(8, 16, 24),
        num_res_blocks=n, norm_groups=4, upsample=up, codebook_size=8, codebook_dim=dim,
        ema_decay=ema, skip_codebook_size=4, quantized_skips=skips,
    )  # fmt: skip


CONFIGS = [
    _config(*combo)
    for combo in itertools.product(
        ("unet", "vqunet", "vqskip"), (2, 3), ("nearest", "transpose"), (None, 0.99), (1, 2),
        (8, 24), ((), (1,)),
    )
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c.kind}")
def test_the_count_from_the_config_is_exact(config: ModelConfig) -> None:
    with torch.device("meta"):  # shapes only: nothing is allocated
        state = build_model(config).state_dict()
    floats = sum(t.numel() for t in state.values() if t.dtype != torch.bool)
    flags = sum(t.numel() for t in state.values() if t.dtype == torch.bool)
    assert model_state_numel(config) == (floats, flags)


def test_build_model_refuses_a_network_over_the_budget(monkeypatch) -> None:
    config = ModelConfig()  # the paper's VQ-UNet: about 9.6 MB of float32
    assert 5e6 < model_bytes(config) < 5e7
    monkeypatch.setenv("VQSEG_MEMORY_BUDGET", "1M")
    with pytest.raises(MemoryBudgetError, match=r"over the memory budget of 1\.0 MiB") as info:
        build_model(config)
    assert "codebook_size=1024" in str(info.value) and info.value.needed == model_bytes(config)
    monkeypatch.setenv("VQSEG_MEMORY_BUDGET", "1G")
    assert build_model(config).quantizer.codebook.shape == (1024, 256)


def test_huge_configs_are_counted_without_allocating() -> None:
    huge = ModelConfig(kind="unet", channels=(10**6, 10**6), norm_groups=1)
    with pytest.raises(MemoryBudgetError, match=r"channels=\[1000000, 1000000\]") as info:
        check_model_budget(huge, source="x.json", budget=2**30)
    assert str(info.value).startswith("x.json: ") and info.value.needed > 10**13
    assert pickle.loads(pickle.dumps(info.value)).needed == info.value.needed
    with pytest.raises(ValueError, match="levels"):
        check_model_budget(ModelConfig(kind="unet", channels=(8,) * 13, norm_groups=4))


def test_sizes_and_the_environment(monkeypatch) -> None:
    assert parse_size("8G") == 8 * 2**30 and parse_size("512MiB") == 512 * 2**20
    assert parse_size("1.5k") == 1536 and parse_size("1000") == 1000
    with pytest.raises(ValueError, match="not a memory size"):
        parse_size("lots")
    monkeypatch.setenv("VQSEG_MEMORY_BUDGET", "lots")
    with pytest.raises(ValueError, match="VQSEG_MEMORY_BUDGET"):
        memory_budget()
    monkeypatch.delenv("VQSEG_MEMORY_BUDGET")
    assert 0 < memory_budget() <= DEFAULT_CAP
    assert format_bytes(27.1 * 2**30) == "27.1 GiB" and format_bytes(12) == "12 B"


def test_array_budget_counts_copies() -> None:
    assert check_array_budget((10, 10), 4, "x", copies=2, budget=800) == 800
    with pytest.raises(MemoryBudgetError, match=r"x: an array of shape \(10, 10\) takes 400 B"):
        check_array_budget((10, 10), 4, "x", copies=3, budget=800)
