"""The reader claims only the medical formats; pictures open our way when the user picks it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from skimage import io as skio

import napari_vqseg
from napari_vqseg._open import add_paths
from napari_vqseg._reader import get_reader

MANIFEST = Path(napari_vqseg.__file__).parent / "napari.yaml"


def _patterns() -> list[str]:
    from npe2 import PluginManifest

    [reader] = PluginManifest.from_file(MANIFEST).contributions.readers
    return list(reader.filename_patterns)


def test_the_reader_claims_medical_formats_not_ordinary_pictures() -> None:
    patterns = _patterns()
    assert {"*.nii.gz", "*.nrrd", "*.mha", "*.dcm", "*.IMG"} <= set(patterns)
    assert not {
        p for p in patterns if p.lower().endswith((".png", ".jpg", ".jpeg", ".tif", ".tiff"))
    }


def test_img_only_with_jsrt_size(tmp_path: Path) -> None:
    analyze = tmp_path / "brain.img"
    analyze.write_bytes(b"\0" * 4096)  # an ANALYZE 7.5 image body is not JSRT raw
    assert get_reader(str(analyze)) is None
    jsrt = tmp_path / "JPCLN001.IMG"
    with jsrt.open("wb") as f:
        f.truncate(2048 * 2048 * 2)
    assert callable(get_reader(str(jsrt)))


def test_open_command_is_in_the_file_menu() -> None:
    from npe2 import PluginManifest

    menus = PluginManifest.from_file(MANIFEST).contributions.menus
    assert [m.command for m in menus["napari/file/io_utilities"]] == [
        "napari-vqseg.open_with_vqseg"
    ]


@pytest.fixture
def pictures(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    xray = tmp_path / "xray.png"
    skio.imsave(xray, (rng.random((24, 20)) * 65535).astype(np.uint16), check_contrast=False)
    mask = tmp_path / "xray_mask.png"
    labels = np.zeros((24, 20), np.uint8)
    labels[5:15, 4:12] = 1
    skio.imsave(mask, labels, check_contrast=False)
    broken = tmp_path / "broken.png"
    broken.write_bytes(xray.read_bytes()[:50])
    return {"xray": xray, "mask": mask, "broken": broken}


def test_add_paths_opens_pictures_our_way(make_napari_viewer, pictures, monkeypatch) -> None:
    viewer = make_napari_viewer()
    errors: list[str] = []
    monkeypatch.setattr("napari.utils.notifications.show_error", errors.append)
    added = add_paths(viewer, [pictures["xray"], pictures["broken"], pictures["mask"]])
    assert [type(layer).__name__ for layer in added] == ["Image", "Labels"]
    image, mask = added
    assert float(image.data.max()) > 255  # 16 bit kept
    assert image.metadata["path"].endswith("xray.png")
    assert int(mask.data.max()) == 1 and mask.data.sum() == 80
    assert len(errors) == 1 and "broken.png" in errors[0]


def test_the_menu_command_gets_the_viewer(make_napari_viewer, pictures, monkeypatch) -> None:
    from napari._app_model import get_app_model
    from qtpy.QtWidgets import QFileDialog

    viewer = make_napari_viewer()
    monkeypatch.setattr(
        QFileDialog, "getOpenFileNames", lambda *a, **k: ([str(pictures["mask"])], "")
    )
    app = get_app_model()
    if "napari-vqseg.open_with_vqseg" not in app.commands:
        from npe2 import PluginManager

        PluginManager.instance().register(str(MANIFEST))
    app.commands.execute_command("napari-vqseg.open_with_vqseg").result()
    assert [layer.name for layer in viewer.layers] == ["xray_mask"]
