"""Every shipped config loads, builds its model, and names a known recipe."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vqseg_core.data.preprocess import get_recipe
from vqseg_core.models import build_model
from vqseg_core.train.config import load_config

ROOT = Path(__file__).parents[3] / "configs"
CONFIGS = sorted(p for p in ROOT.rglob("*.yaml") if p.parent.name != "studies")
STUDIES = sorted((ROOT / "studies").glob("*.yaml"))


def test_configs_are_shipped() -> None:
    names = {
        p.relative_to(p.parents[1]).as_posix() if p.parent.name == "paper" else p.name
        for p in CONFIGS
    }
    assert {"smoke.yaml", "chest-xray.yaml", "ct-organs.yaml", "brain-mri.yaml"} <= names
    assert {
        "paper/chest-xray-2d.yaml",
        "paper/prostate-mri-3d.yaml",
        "paper/abdomen-ct-3d.yaml",
    } <= names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_loads_and_builds(path: Path) -> None:
    config = load_config(path)
    get_recipe(config.data.recipe)
    model = build_model(config.model)
    n = config.model.spatial_dims
    with torch.no_grad():
        out = model.eval()(torch.rand(1, config.model.in_channels, *([16] * n)))
    assert out.shape == (1, config.model.out_channels, *([16] * n))


@pytest.mark.slow
def test_smoke_config_trains_on_bundled_data_and_its_loss_falls(tmp_path: Path) -> None:
    import json

    from vqseg_core.train.loop import train

    config = load_config(
        Path(__file__).parents[3] / "configs" / "smoke.yaml", ["logging.progress=false"]
    )
    result = train(config, tmp_path, device="cpu", echo=lambda m: None)
    assert result.steps_done == config.schedule.steps and result.weights is not None
    lines = [
        json.loads(x) for x in (tmp_path / "log.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    losses = [x["loss"] for x in lines if x["type"] == "train"]
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5
    assert any(x["type"] == "val" for x in lines)


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.name)
def test_study_files_load_and_every_run_config_builds(path: Path) -> None:
    from vqseg_core.study.spec import load_study

    spec = load_study(path)
    assert spec.base.exists() and len(spec.seeds) >= 5
    for run in spec.runs(Path("unused"))[: len(spec.arms)]:  # one seed: every arm's overrides
        config = load_config(spec.base, spec.overrides(run))
        assert config.name == run.name and config.seed == run.seed
        build_model(config.model)
