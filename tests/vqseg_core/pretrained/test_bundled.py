"""The bundled pairs load by name and reach their documented held-out Dice."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vqseg_core.data.layouts import split_by_parity
from vqseg_core.data.sources import PrepareRequest, prepare
from vqseg_core.io import load_image
from vqseg_core.metrics import dice_per_class
from vqseg_core.models import ModelConfig
from vqseg_core.pretrained import list_pairs, load_pair, pair_info
from vqseg_core.pretrained.registry import WEIGHTS_DIR


def test_chest_xray_pair_is_bundled_and_verified() -> None:
    assert "chest-xray" in list_pairs()
    pair = load_pair("chest-xray")
    assert pair.classes == {1: "lungs", 2: "heart"}
    assert pair.recipe.target_shape == (256, 256)
    info = pair_info("chest-xray")
    assert pair.sha256 == {k: info.sha256[k] for k in ("unet", "vqunet")}
    assert pair.models["vqunet"].quantizer.codebook.shape == (1024, 256)


def test_chest_xray_set_holds_the_noise_augmented_unet_as_a_third_model() -> None:
    from vqseg_core.pretrained.registry import load_set, set_info

    models = load_set("chest-xray")
    assert models.keys == ("unet", "vqunet", "unet-noise", "vq-healthy")
    assert load_pair("chest-xray").keys == ("unet", "vqunet")  # the pair API stays a pair
    meta = json.loads((WEIGHTS_DIR / "chest-xray-unet-noise.json").read_text(encoding="utf-8"))
    assert meta["config"]["init_from"] == "chest-xray/unet"
    assert "corrupt" in meta["config"]["data"]["augment"]
    unet = json.loads((WEIGHTS_DIR / "chest-xray-unet.json").read_text(encoding="utf-8"))
    same = [ModelConfig.from_dict(m["config"]["model"]).to_dict() for m in (meta, unet)]
    assert same[0] == same[1]  # the bundled UNet's architecture: it starts from its weights
    assert set_info("chest-xray").details["validation_dice"].keys() == set(models.keys)


def test_the_fourth_chest_model_is_the_vq_unet_with_a_codebook_in_use() -> None:
    """The healthy-codebook VQ-UNet: the bundled VQ-UNet's weights and shapes, fine-tuned with
    the cosine lookup and dead-code restarts; on the bundled radiograph it uses many codes where
    the shipped VQ-UNet uses a handful (held-out JSRT: 732 vs 6 of 1024, registry caveats)."""
    import torch

    from vqseg_core.data.samples import sample_path
    from vqseg_core.engine.frame import prepare as prepare_image
    from vqseg_core.pretrained.registry import load_set

    models = load_set("chest-xray", ["vqunet", "vq-healthy"])
    meta = json.loads((WEIGHTS_DIR / "chest-xray-vq-healthy.json").read_text(encoding="utf-8"))
    assert meta["config"]["init_from"] == "chest-xray/vqunet"
    assert meta["config"]["model"]["codebook_preset"] == "healthy"
    image = load_image(sample_path("chest-xray")[0])
    used = {}
    for member in models:
        x = prepare_image(member.recipe, image.array, image.spacing).x
        with torch.no_grad():
            latents = member.model.float().encode(torch.from_numpy(np.asarray(x))[None]).latents
        used[member.key] = int(latents["bottleneck"].indices.unique().numel())
    assert used["vq-healthy"] >= 5 * used["vqunet"] and used["vq-healthy"] >= 30, used


def test_tampered_registry_hash_is_refused(tmp_path, monkeypatch) -> None:
    from vqseg_core import pretrained
    from vqseg_core.checkpoint import CheckpointError

    registry = json.loads((WEIGHTS_DIR / "registry.json").read_text(encoding="utf-8"))
    registry["sets"]["chest-xray"]["members"][0]["sha256"] = "0" * 64  # the UNet
    fake = tmp_path / "registry.json"
    fake.write_text(json.dumps(registry), encoding="utf-8")
    monkeypatch.setattr(pretrained.registry, "REGISTRY", fake)
    with pytest.raises(CheckpointError, match="registry"):
        load_pair("chest-xray")


@pytest.mark.slow
def test_chest_xray_pair_reaches_its_documented_held_out_dice(shared_data, tmp_path) -> None:
    """Re-evaluate on the held-out (even-numbered) cases among the first 40 JSRT cases."""
    request = PrepareRequest(
        out=tmp_path / "jsrt", source=shared_data / "jsrt_scr", limit=40, progress=False
    )
    prepare("jsrt", request)
    from vqseg_core.data.layouts import read_dataset

    held_out = split_by_parity(read_dataset(tmp_path / "jsrt").cases)["even"]
    assert len(held_out) >= 15
    from vqseg_core.pretrained.registry import load_set

    pair = load_set("chest-xray")  # every member of the set
    scores: dict[str, list[float]] = {k: [] for k in pair.keys}
    heart: dict[str, list[float]] = {k: [] for k in pair.keys}
    for case in held_out:
        image, truth = load_image(case.image), load_image(case.label).array.astype(np.uint8)
        for key, labels in pair.predict(image.array, image.spacing, device="cpu").items():
            d = dice_per_class(labels, truth, labels=[1, 2])
            scores[key].append(d[1])
            heart[key].append(d[2])
    documented = pair_info("chest-xray").details["validation_dice"]
    for key in pair.keys:
        # documented on 100 cases at 256 px; here about 20 cases on the original 1024 px grid
        assert np.mean(scores[key]) >= documented[key]["lungs"] - 0.02, key
        assert np.mean(heart[key]) >= documented[key]["heart"] - 0.03, key


@pytest.mark.slow
@pytest.mark.parametrize(
    ("pair_name", "source"), [("ct-organs", "ct-organs"), ("brain-mri", "brain-colin27")]
)
def test_volume_pairs_reach_their_documented_held_out_dice(tmp_path, pair_name, source) -> None:
    """Re-validate on the held-out slices of the one labelled volume (data from packages the
    project's setup installs), through the same validation path that recorded the numbers."""
    from pathlib import Path

    import torch

    from vqseg_core.data.sources import SourceMissingError
    from vqseg_core.train.config import load_config
    from vqseg_core.train.dataset import load_training_data
    from vqseg_core.train.validate import validate

    assert pair_name in list_pairs()
    out = tmp_path / source
    try:
        prepare(source, PrepareRequest(out=out, progress=False))
    except SourceMissingError as exc:
        pytest.skip(f"{source} data not installed here: {exc}")
    root = Path(__file__).parents[3]
    config = load_config(root / "configs" / f"{pair_name}.yaml", [f"data.dataset={out}"])
    _, held_out = load_training_data(config)
    pair = load_pair(pair_name)
    assert pair.spatial_dims == 3 and pair.model_dims == 2
    documented = pair_info(pair_name).details["validation_dice"]
    for key in ("unet", "vqunet"):
        scores = validate(pair.models[key], held_out, config.data.labels, torch.device("cpu"), None)
        for organ, value in documented[key].items():
            if value is not None:
                assert scores[organ] == pytest.approx(value, abs=0.02), (key, organ)
