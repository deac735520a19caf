"""Your own model in the explorer: TorchScript and ONNX exports of the bundled chest-xray UNet,
added with Files... to the bundled set, appear as the last two panels with the original's masks; the
ONNX copy's YAML names no bottleneck: its panel has a mask and metrics, no latent map, and a
line says why. Imported settings never load TorchScript (code)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

pytestmark = pytest.mark.gui
pytest.importorskip("onnxruntime")

from vqseg_core.pretrained.registry import set_info  # noqa: E402

BUNDLED = list(set_info("chest-xray").keys)  # the bundled set's models come first


@pytest.fixture(scope="module")
def own_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """YAMLs of a TorchScript copy (with its bottleneck) and an ONNX copy (without)."""
    import torch

    from vqseg_core.modelset.export_formats import export_onnx, export_torchscript
    from vqseg_core.pretrained.registry import WEIGHTS_DIR

    torch.set_num_threads(1)
    unet, out = WEIGHTS_DIR / "chest-xray-unet.json", tmp_path_factory.mktemp("own")
    onnx = export_onnx(unet, out, dynamo=False)
    spec = yaml.safe_load(onnx.read_text())
    del spec["bottleneck"]
    onnx.write_text(yaml.safe_dump(spec))
    return {"torchscript": export_torchscript(unet, out), "onnx": onnx}


@pytest.fixture
def radiograph(make_napari_viewer):
    """A viewer with the bundled chest radiograph and its lung mask."""
    from vqseg_core.data.samples import get_sample
    from vqseg_core.io import load_image

    sample = get_sample("chest-xray")
    viewer = make_napari_viewer()
    viewer.add_image(load_image(sample.image).array, name="chest")
    viewer.add_labels(np.asarray(load_image(sample.labels).array).astype(np.uint8), name="chest gt")
    return viewer


def _explorer(viewer, qtbot):
    from napari_vqseg.explorer._qt.widget import RobustnessExplorer

    widget = RobustnessExplorer(viewer)
    viewer.window.add_dock_widget(widget, name="Robustness Explorer")
    widget.controls.draws.setValue(2)
    widget.controls.models.setCurrentText("chest-xray")
    return widget


def _close(widget, qtbot) -> None:
    widget.shutdown()
    qtbot.waitUntil(lambda: not widget._workers, timeout=10000)


def test_exports_appear_as_panels_with_the_originals_masks(radiograph, own_models, qtbot) -> None:
    viewer = radiograph
    widget = _explorer(viewer, qtbot)
    widget.controls.set_files([str(own_models["torchscript"]), str(own_models["onnx"])])
    try:
        n = len(BUNDLED) + 2
        qtbot.waitUntil(lambda: widget.view is not None and len(widget.view.models) == n
                        and widget.view.latent_state == "done" and not widget.busy,
                        timeout=120000)  # fmt: skip  (masks come first, the latent maps after)
        view = widget.view
        assert list(view.models) == [*BUNDLED, "unet-torchscript", "unet-onnx"]
        layers = list(viewer.layers)
        grid = viewer.canvas.grid
        pos = {lay.name: grid.position(i, layers) for i, lay in enumerate(layers)}
        assert pos["UNet (TorchScript) · mask"] == pos["UNet (TorchScript)"]  # its own panel
        assert pos["UNet (ONNX) · mask"] != pos["UNet (TorchScript) · mask"]
        assert pos["UNet · mask"] not in (pos["UNet (TorchScript) · mask"], pos["UNet (ONNX) · mask"])
        original = viewer.layers["UNet · mask"].data
        for name in ("UNet (TorchScript)", "UNet (ONNX)"):
            mask = viewer.layers[f"{name} · mask"].data
            assert mask.shape == original.shape == (512, 512)
            assert (mask == original).mean() >= 0.9999
        names = [lay.name for lay in layers]
        assert "UNet (TorchScript) · latent variance" in names
        assert "UNet (ONNX) · latent variance" not in names
        assert "No latent maps for UNet (ONNX)" in widget.status.text()
        assert widget.metrics.rowCount() == n
        heads = [widget.metrics.verticalHeaderItem(r).text() for r in range(n)]
        assert heads[-2:] == ["UNet (TorchScript)", "UNet (ONNX)"]
        assert view.models["unet-onnx"].scores is not None  # metrics always
    finally:
        _close(widget, qtbot)


def test_imported_settings_never_load_torchscript(radiograph, own_models, tmp_path, qtbot) -> None:
    from napari_vqseg.explorer.settings import ExplorerSettings

    settings = ExplorerSettings(models="chest-xray", image_layer="chest", n_draws=1,
                                model_files=(str(own_models["torchscript"]), str(own_models["onnx"])))  # fmt: skip
    (tmp_path / "settings.json").write_text(json.dumps({"settings": settings.to_dict()}))
    widget = _explorer(radiograph, qtbot)
    try:
        restored = widget.import_settings(tmp_path)
        assert restored.model_files == (str(own_models["onnx"]),)
        assert "TorchScript is code" in widget.status.text()
        qtbot.waitUntil(lambda: widget.view is not None
                        and len(widget.view.models) == len(BUNDLED) + 1
                        and not widget.busy, timeout=120000)  # fmt: skip
        assert list(widget.view.models) == [*BUNDLED, "unet-onnx"]
    finally:
        _close(widget, qtbot)
