"""A set of three models (UNet, VQ-UNet, VQ-UNet with quantised skips) gives the same numbers
through the engine, the explorer's sweep and ``vqseg-eval noise`` / ``latent``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vqseg_core.data.cases import load_case
from vqseg_core.data.layouts import read_dataset
from vqseg_core.engine import RunRequest, execute, score
from vqseg_core.evaluation import NoiseConfig, case_seed, run_latent, run_noise
from vqseg_core.perturb import Corruption
from vqseg_core.robustness import analyse, level_sweep


def _one_case(root: Path) -> Path:
    from PIL import Image

    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    yy, xx = np.mgrid[:64, :64]
    label = (((yy - 30) ** 2 + (xx - 33) ** 2) < 13**2).astype(np.uint8)
    label[(abs(yy - 30) < 4) & (abs(xx - 33) < 4)] = 2
    image = 0.2 + 0.3 * (label > 0) + 0.3 * (label == 2)
    image += 0.04 * np.random.default_rng(3).normal(size=image.shape)
    Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8)).save(root / "images/c01.png")
    Image.fromarray(label).save(root / "masks/c01.png")
    return root


def test_three_models_agree_on_engine_sweep_and_eval(tiny_set, tmp_path) -> None:
    assert tiny_set.keys == ("unet", "vqunet", "vqskip")
    case = read_dataset(_one_case(tmp_path / "discs")).cases[0]
    loaded = load_case(case)
    seed = case_seed(0, case.case_id)
    level = 20.0

    run = execute(RunRequest(tiny_set, loaded.array, loaded.spacing,
                             Corruption("gaussian", level, seed), n_draws=1, device="cpu"))  # fmt: skip
    engine = {k: {tiny_set.member(k).classes[v]: s.dice for v, s in per_draw[0].items()}
              for k, per_draw in score(run, loaded.labels).items()}  # fmt: skip

    rows = level_sweep(tiny_set, loaded.array, loaded.spacing, "gaussian", [level], seed=seed,
                       ground_truth=loaded.labels, device="cpu")  # fmt: skip
    sweep = {r["model"]: {c: r[f"dice_{c}"] for c in ("ring", "core")} for r in rows}

    config = NoiseConfig(kinds=("gaussian",), levels=(level,), n_draws=1, device="cpu",
                         progress=False)  # fmt: skip
    result = run_noise([tiny_set], "discs", [case], tmp_path / "noise", config)
    evaluated = {r["model"]: {c: r[f"dice_{c}"] for c in ("ring", "core")} for r in result.rows}

    assert list(engine) == list(sweep) == list(evaluated) == ["unet", "vqunet", "vqskip"]
    for key in engine:
        for c in ("ring", "core"):
            assert engine[key][c] == sweep[key][c] == evaluated[key][c], (key, c)
    table = (tmp_path / "noise" / "table.md").read_text(encoding="utf-8")
    assert "VQ-UNet (quantised skips)" in table


def test_every_quantiser_reaches_the_view_and_vqseg_eval_latent(tiny_set, tmp_path) -> None:
    case = read_dataset(_one_case(tmp_path / "discs")).cases[0]
    loaded = load_case(case)
    seed = case_seed(0, case.case_id)
    view = analyse(tiny_set, loaded.array, loaded.spacing, kind="gaussian", level=20, seed=seed,
                   n_draws=3, device="cpu")  # fmt: skip
    skips = [n for n in view.models["vqskip"].latents if n != "bottleneck"]
    assert skips, "the quantised-skip model reports its skip latents"
    assert list(view.models["unet"].latents) == ["bottleneck"]
    config = NoiseConfig(kinds=("gaussian",), levels=(20.0,), n_draws=3, device="cpu",
                         progress=False)  # fmt: skip
    rows = run_latent([tiny_set], "discs", [case], tmp_path / "latent", config).rows
    row = next(r for r in rows if r["model"] == "vqskip")
    for name in ["bottleneck", *skips]:
        lat = view.models["vqskip"].latents[name]
        suffix = "" if name == "bottleneck" else f"_{name}"
        assert lat.flip_rate == pytest.approx(row[f"flip_rate{suffix}"], abs=1e-12)
        assert float(lat.variance.mean()) == pytest.approx(row[f"variance{suffix}"], rel=1e-6)
        # the maps lie on the image: scale x cells covers the input grid
        cells = np.asarray(lat.flip_map.shape, dtype=float)
        assert np.allclose(np.asarray(lat.scale) * cells, loaded.array.shape)
