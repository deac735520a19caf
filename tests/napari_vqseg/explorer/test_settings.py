"""Explorer settings: JSON round trip, files of the previous version, unknown keys."""

from __future__ import annotations

import json

import pytest

from napari_vqseg.explorer.report import read_settings
from napari_vqseg.explorer.settings import FROM_FILES, ExplorerSettings


def test_settings_round_trip_through_json() -> None:
    s = ExplorerSettings(models="chest-xray", model_files=("c.json",), keys=("vqunet", "unet", "c"),
                         reference="vqunet", latent="skip0", kind="poisson", level=12.5, seed=3,
                         n_draws=8, device="cpu", image_layer="img", gt_layer="gt")  # fmt: skip
    assert ExplorerSettings.from_dict(json.loads(json.dumps(s.to_dict()))) == s


def test_unknown_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="bogus"):
        ExplorerSettings.from_dict({"bogus": 1})


def test_settings_files_of_the_pair_version_still_open(tmp_path) -> None:
    old = {"format": "napari-vqseg explorer settings", "version": 1, "settings": {
        "pair": FROM_FILES, "pair_files": ["u.json", "v.json"], "kind": "gaussian", "level": 20.0,
        "seed": 1, "n_draws": 4, "device": "cpu", "image_layer": "chest", "gt_layer": None,
        "side_by_side": True}}  # fmt: skip
    (tmp_path / "settings.json").write_text(json.dumps(old), encoding="utf-8")
    s = read_settings(tmp_path)
    assert s.models == FROM_FILES and s.model_files == ("u.json", "v.json")
    assert s.keys is None and s.reference is None and s.level == 20.0
    bundled = ExplorerSettings.from_dict({"pair": "chest-xray", "pair_files": None})
    assert bundled.models == "chest-xray" and bundled.model_files == ()
