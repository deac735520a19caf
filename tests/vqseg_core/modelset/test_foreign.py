"""Your own model: TorchScript / ONNX exports of a bundled network give its labels; MONAI nets.

The bundled chest-xray UNet, exported to TorchScript and ONNX and loaded back from the YAML
beside each file, labels the bundled radiographs as the original does (measured: every pixel,
both exporters); its bottleneck gives the same latent maps. A MONAI UNet (class + args + state
dict) is a member too, with latents from a forward hook, or masks and metrics only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from vqseg_core.modelset import ModelSet, set_from_files
from vqseg_core.modelset.foreign import member_from_yaml
from vqseg_core.pretrained import load_set
from vqseg_core.pretrained.registry import WEIGHTS_DIR

from ._foreign_builders import MONAI_ARGS, monai_yaml

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

UNET = WEIGHTS_DIR / "chest-xray-unet.json"
AGREEMENT = 0.9999  # share of pixels; measured 1.0 for both formats on both radiographs


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """TorchScript and ONNX (the faster TorchScript-based exporter) of the bundled UNet."""
    from vqseg_core.modelset.export_formats import export_onnx, export_torchscript

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("exports")
    return {"torchscript": export_torchscript(UNET, out), "onnx": export_onnx(UNET, out, dynamo=False)}


@pytest.fixture(scope="module")
def trio(exported: dict[str, Path]) -> ModelSet:
    """The bundled UNet, then its TorchScript and ONNX copies as 'your own models'."""
    base = load_set("chest-xray", keys=["unet"])
    members = [base.member("unet")]
    for path in exported.values():
        members.append(member_from_yaml(path, position=len(members)))
    return ModelSet("chest-xray-exports", tuple(members))


def _sample(name: str) -> tuple[np.ndarray, tuple[float, ...] | None]:
    from vqseg_core.data.samples import get_sample
    from vqseg_core.io import load_image

    image = load_image(get_sample(name).image)
    return image.array, image.spacing


def _agreement(a: np.ndarray, b: np.ndarray) -> float:
    return float((a == b).mean())


def test_the_yaml_beside_each_export_says_what_it_is(exported: dict[str, Path]) -> None:
    spec = yaml.safe_load(exported["torchscript"].read_text())
    assert spec["format"] == "vqseg-model" and spec["type"] == "torchscript"
    assert spec["classes"] == {1: "lungs", 2: "heart"}
    assert (spec["recipe"], spec["image_size"], spec["divisible_by"]) == ("chest_xray", [256, 256], 16)
    assert (exported["torchscript"].parent / spec["file"]).is_file()
    assert yaml.safe_load(exported["onnx"].read_text())["file"].endswith(".onnx")


@pytest.mark.parametrize("sample", ["chest-xray", "chest-xray-cr"])
def test_exports_give_the_labels_of_the_original(trio: ModelSet, sample: str) -> None:
    array, spacing = _sample(sample)
    labels = trio.predict(array, spacing, device="cpu", precision="fp32")
    assert set(np.unique(labels["unet"])) >= {0, 1}  # it segments something
    for key in trio.keys[1:]:
        agreement = _agreement(labels[key], labels["unet"])
        assert agreement >= AGREEMENT, (key, sample, agreement)


def test_exports_match_through_the_engine_with_latents(trio: ModelSet) -> None:
    from vqseg_core.robustness import analyse

    array, spacing = _sample("chest-xray")
    view = analyse(trio, array, spacing, kind="gaussian", level=10.0, n_draws=2, device="cpu",
                   precision="fp32")  # fmt: skip
    ref = view.models["unet"]
    for key in trio.keys[1:]:
        mv = view.models[key]
        assert _agreement(mv.labels, ref.labels) >= AGREEMENT
        assert set(mv.latents) == {"bottleneck"}
        assert mv.latent_variance.shape == ref.latent_variance.shape
        np.testing.assert_allclose(mv.latent_variance, ref.latent_variance, rtol=1e-2, atol=1e-4)
        assert mv.latents["bottleneck"].scale == ref.latents["bottleneck"].scale
    assert view.latent_note == ""


def test_padding_matches_the_unet_on_odd_sizes(trio: ModelSet) -> None:
    x = torch.rand(1, 1, 200, 177)
    with torch.inference_mode():
        want = trio.member("unet").model(x)
        for key in trio.keys[1:]:
            got = trio.member(key).model(x)
            assert got.shape == want.shape == (1, 3, 200, 177)
            assert torch.equal(got.argmax(1), want.argmax(1))
    assert trio.member(trio.keys[1]).model.padded_shape((200, 177)) == (208, 192)


def test_set_from_files_and_vqseg_eval_take_the_yaml(exported: dict[str, Path]) -> None:
    models = set_from_files([UNET, exported["torchscript"]])
    assert models.keys == ("unet", "unet-torchscript")
    assert [m.name for m in models] == ["UNet", "UNet (TorchScript)"]
    member = models.member("unet-torchscript")
    assert member.kind == "torchscript" and member.info["type"] == "torchscript"
    assert len(member.sha256) == 64 and member.classes == {1: "lungs", 2: "heart"}
    from vqseg_core.evaluation.common import ModelSource  # what vqseg-eval --models loads

    assert ModelSource(files=(UNET, exported["onnx"])).load().keys == ("unet", "unet-onnx")


def test_vqseg_eval_scores_your_own_models(exported: dict[str, Path], tmp_path: Path) -> None:
    """``vqseg-eval noise --models A.json B.yaml C.yaml``: one row per model, equal Dice."""
    import csv
    import shutil

    from vqseg_core.cli.eval import main
    from vqseg_core.data.samples import get_sample

    sample = get_sample("chest-xray")
    for folder, source in (("images", sample.image), ("masks", sample.labels)):
        (tmp_path / "data" / folder).mkdir(parents=True)
        shutil.copy(source, tmp_path / "data" / folder / "case01.png")
    code = main(["noise", str(tmp_path / "data"), "--split", "all", "--models", str(UNET),
                 str(exported["torchscript"]), str(exported["onnx"]), "--kinds", "gaussian",
                 "--levels", "10", "--draws", "2", "--device", "cpu", "--out", str(tmp_path / "out"),
                 "--no-progress"])  # fmt: skip
    assert code in (0, None)
    with open(tmp_path / "out" / "cases.csv", newline="") as fh:
        rows = {r["model"]: float(r["dice_lungs"]) for r in csv.DictReader(fh)}
    assert set(rows) == {"unet", "unet-torchscript", "unet-onnx"}
    assert rows["unet"] > 0.5
    assert rows["unet-torchscript"] == pytest.approx(rows["unet"], abs=1e-4)
    assert rows["unet-onnx"] == pytest.approx(rows["unet"], abs=1e-4)


@pytest.mark.slow
def test_the_default_onnx_exporter_gives_the_same_labels(tmp_path: Path) -> None:
    """``torch.onnx.export(dynamo=True)`` (what vqseg-train --export onnx uses)."""
    from vqseg_core.modelset.export_formats import export_onnx

    torch.set_num_threads(1)
    path = export_onnx(UNET, tmp_path)
    models = ModelSet("dyn", (load_set("chest-xray", keys=["unet"]).member("unet"),
                              member_from_yaml(path, position=1)))  # fmt: skip
    array, spacing = _sample("chest-xray")
    labels = models.predict(array, spacing, device="cpu", precision="fp32")
    assert _agreement(labels["unet-onnx"], labels["unet"]) >= AGREEMENT


@pytest.mark.slow
def test_the_export_command_copies_a_vq_unet(tmp_path: Path) -> None:
    """The command, both formats, a VQ-UNet: torch.export refuses its code-usage statistics
    (data-dependent), the ONNX copy comes from the older exporter; labels equal."""
    from vqseg_core.modelset.export_formats import main

    torch.set_num_threads(1)
    vq = WEIGHTS_DIR / "chest-xray-vqunet.json"
    assert main([str(vq), "--to", "torchscript,onnx", "--out", str(tmp_path)]) == 0
    yamls = sorted(tmp_path.glob("*.yaml"))
    assert [p.name for p in yamls] == ["chest-xray-vqunet-onnx.yaml", "chest-xray-vqunet-torchscript.yaml"]
    members = [load_set("chest-xray", keys=["vqunet"]).member("vqunet")]
    members += [member_from_yaml(p, position=i + 1) for i, p in enumerate(yamls)]
    models = ModelSet("vq", tuple(members))
    array, spacing = _sample("chest-xray")
    labels = models.predict(array, spacing, device="cpu", precision="fp32")
    for key in models.keys[1:]:
        assert _agreement(labels[key], labels["vqunet"]) >= AGREEMENT, key


# ---- MONAI -----------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_a_monai_network_from_class_args_and_state_dict(tmp_path: Path, suffix: str) -> None:
    from monai.networks.nets import UNet

    member = member_from_yaml(monai_yaml(tmp_path, suffix=suffix))
    assert (member.key, member.name, member.kind) == ("monai-unet", "MONAI UNet", "monai")
    torch.manual_seed(0)
    reference = UNet(**MONAI_ARGS).eval()
    x = torch.rand(2, 1, 64, 64)
    with torch.inference_mode():
        assert torch.allclose(member.model(x), reference(x), atol=1e-6)
        encoding = member.model.encode(x)
    assert encoding.features.shape == (2, 32, 16, 16)


def test_a_bottleneck_hook_gives_latent_maps_and_none_gives_masks_only(tmp_path: Path) -> None:
    from vqseg_core.engine import has_latents
    from vqseg_core.robustness import analyse

    hooked = member_from_yaml(monai_yaml(tmp_path), position=0)
    plain = member_from_yaml(monai_yaml(tmp_path, bottleneck=None), key="plain", position=1)
    assert has_latents(hooked.model) and not has_latents(plain.model)
    models = ModelSet("monai", (hooked, plain))
    image = np.random.default_rng(0).random((80, 70)).astype(np.float32)
    gt = (image > 0.5).astype(np.uint8)
    view = analyse(models, image, None, kind="gaussian", level=10.0, n_draws=3, device="cpu",
                   ground_truth=gt)  # fmt: skip
    assert set(view.models["monai-unet"].latents) == {"bottleneck"}
    assert view.models["monai-unet"].latent_variance.shape == (16, 16)
    assert view.models["plain"].latents == {} and view.models["plain"].latent_variance is None
    assert view.models["plain"].labels.shape == image.shape
    assert view.models["plain"].scores is not None and "lungs" in view.models["plain"].scores
    assert "No latent maps for MONAI UNet" in view.latent_note and "bottleneck" in view.latent_note
    with pytest.raises(ValueError, match="names no bottleneck"):
        plain.model.encode(torch.zeros(1, 1, 64, 64))
    with pytest.raises(ValueError, match="probes"):
        plain.model.paths(torch.zeros(1, 1, 64, 64))


def test_the_readme_example_loads(tmp_path: Path) -> None:
    """The YAML of the README's "Your own model" section, with seeded weights, is a member
    whose bottleneck is the deepest block (1/8 of the input)."""
    import re

    from monai.networks.nets import UNet
    from safetensors.torch import save_file

    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Your own model", 1)[1]
    text = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    spec = yaml.safe_load(text)
    net = UNet(**spec["monai"]["args"])
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, tmp_path / spec["file"])
    (tmp_path / "my-unet.yaml").write_text(text)
    member = member_from_yaml(tmp_path / "my-unet.yaml")
    assert member.name == "My UNet" and member.classes == {1: "lungs", 2: "heart"}
    with torch.inference_mode():
        assert member.model.encode(torch.rand(1, 1, 250, 250)).features.shape == (1, 128, 32, 32)
