"""Dataset layouts read from small synthetic files, and case-level splits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vqseg_core.data.layouts import (
    Case,
    case_key,
    read_dataset,
    split_by_ids,
    split_by_parity,
    split_cases,
)


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_case_key_strips_double_suffixes() -> None:
    assert case_key("la_003.nii.gz") == "la_003"
    assert case_key("JPCLN001.IMG.png") == "JPCLN001"
    assert case_key("JPCLN001.png") == "JPCLN001"
    assert case_key("case.v2.nii") == "case.v2"


def test_paired_folders_match_by_stem(tmp_path: Path) -> None:
    for name in ("JPCLN001", "JPCLN002"):
        _touch(tmp_path / "images" / f"{name}.IMG.png")
        _touch(tmp_path / "masks" / f"{name}.png")
    _touch(tmp_path / "images" / ".DS_Store")
    ds = read_dataset(tmp_path)
    assert ds.layout == "paired" and len(ds) == 2
    assert ds.case("JPCLN002").label == tmp_path / "masks" / "JPCLN002.png"


def test_paired_folders_accept_labels_dir_and_mask_suffix(tmp_path: Path) -> None:
    _touch(tmp_path / "images" / "CHNCXR_0001_0.png")
    _touch(tmp_path / "labels" / "CHNCXR_0001_0_mask.png")
    _touch(tmp_path / "images" / "vol.nii.gz")
    _touch(tmp_path / "labels" / "vol_seg.nii.gz")
    ds = read_dataset(tmp_path)
    assert [c.case_id for c in ds] == ["CHNCXR_0001_0", "vol"]
    assert all(c.label is not None for c in ds)


def test_unmatched_files_are_named(tmp_path: Path) -> None:
    _touch(tmp_path / "images" / "a.png")
    _touch(tmp_path / "images" / "b.png")
    _touch(tmp_path / "masks" / "a.png")
    _touch(tmp_path / "masks" / "zzz.png")
    with pytest.raises(ValueError, match=r"without an image: zzz\.png.*without a mask: b\.png"):
        read_dataset(tmp_path)


def test_unlabelled_images_allowed_on_request(tmp_path: Path) -> None:
    _touch(tmp_path / "images" / "a.png")
    ds = read_dataset(tmp_path, allow_unlabelled=True)
    assert ds.cases[0].label is None


@pytest.mark.parametrize("setup", ["missing", "unknown", "empty"])
def test_missing_unknown_and_empty_layouts_raise(tmp_path: Path, setup: str) -> None:
    if setup == "missing":
        with pytest.raises(ValueError, match="does not exist"):
            read_dataset(tmp_path / "nope")
        return
    if setup == "unknown":
        _touch(tmp_path / "scans" / "a.png")
        with pytest.raises(ValueError, match="no known dataset layout"):
            read_dataset(tmp_path)
        return
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    with pytest.raises(ValueError, match="holds no cases"):
        read_dataset(tmp_path)


def test_decathlon_dataset_json(tmp_path: Path) -> None:
    for i in (3, 4):
        _touch(tmp_path / "imagesTr" / f"la_00{i}.nii.gz")
        _touch(tmp_path / "labelsTr" / f"la_00{i}.nii.gz")
    meta = {
        "name": "LeftAtrium",
        "labels": {"0": "background", "1": "left atrium"},
        "licence": "CC-BY-SA 4.0",
        "training": [
            {"image": f"./imagesTr/la_00{i}.nii.gz", "label": f"./labelsTr/la_00{i}.nii.gz"}
            for i in (3, 4)
        ],
        "test": ["./imagesTs/la_001.nii.gz"],
    }
    (tmp_path / "dataset.json").write_text(json.dumps(meta), encoding="utf-8")
    ds = read_dataset(tmp_path)
    assert ds.layout == "dataset-json" and len(ds) == 2
    assert ds.labels == {0: "background", 1: "left atrium"}
    assert ds.metadata["licence"] == "CC-BY-SA 4.0"


def test_dataset_json_missing_files_are_listed(tmp_path: Path) -> None:
    meta = {"training": [{"image": "imagesTr/x.nii.gz", "label": "labelsTr/x.nii.gz"}]}
    (tmp_path / "dataset.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ValueError, match=r"2 missing file\(s\): imagesTr/x.nii.gz"):
        read_dataset(tmp_path)


def test_dataset_json_keeps_domain_and_extra_fields(tmp_path: Path) -> None:
    _touch(tmp_path / "images" / "c1.png")
    _touch(tmp_path / "masks" / "c1.png")
    entry = {"case_id": "c1", "image": "images/c1.png", "label": "masks/c1.png"}
    meta = {"training": [{**entry, "domain": "JSRT", "spacing": [0.35, 0.35]}]}
    (tmp_path / "dataset.json").write_text(json.dumps(meta), encoding="utf-8")
    case = read_dataset(tmp_path).cases[0]
    assert case.domain == "JSRT" and case.extra["spacing"] == [0.35, 0.35]


def test_nnunet_raw_with_channel_suffixes(tmp_path: Path) -> None:
    for case in ("prostate_00", "prostate_01"):
        _touch(tmp_path / "imagesTr" / f"{case}_0000.nii.gz")
        _touch(tmp_path / "imagesTr" / f"{case}_0001.nii.gz")
        _touch(tmp_path / "labelsTr" / f"{case}.nii.gz")
    labels = {"background": 0, "PZ": 1, "TZ": 2}
    (tmp_path / "dataset.json").write_text(
        json.dumps({"labels": labels, "numTraining": 2}), encoding="utf-8"
    )
    ds = read_dataset(tmp_path)
    assert ds.layout == "nnunet"
    assert ds.labels == {0: "background", 1: "PZ", 2: "TZ"}
    first = ds.cases[0]
    assert first.image.name == "prostate_00_0000.nii.gz" and len(first.extra["channels"]) == 2


def test_csv_with_relative_paths_and_domains(tmp_path: Path) -> None:
    _touch(tmp_path / "data" / "img" / "a.nii.gz")
    _touch(tmp_path / "data" / "seg" / "a.nii.gz")
    _touch(tmp_path / "data" / "img" / "b.nii.gz")
    _touch(tmp_path / "data" / "seg" / "b.nii.gz")
    csv_path = tmp_path / "data" / "cases.csv"
    csv_path.write_text(
        "img,seg,site,age\nimg/a.nii.gz,seg/a.nii.gz,BMC,61\nimg/b.nii.gz,seg/b.nii.gz,RUNMC,70\n",
        encoding="utf-8",
    )
    ds = read_dataset(csv_path, image_column="img", label_column="seg", domain_column="site")
    assert ds.layout == "csv" and ds.domains == ("BMC", "RUNMC")
    assert ds.case("a").label == tmp_path / "data" / "seg" / "a.nii.gz"
    assert ds.case("b").extra == {"age": "70"}


def test_csv_errors_name_the_problem(tmp_path: Path) -> None:
    csv_path = tmp_path / "cases.csv"
    csv_path.write_text("path,mask\nx.png,y.png\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no image column 'image'"):
        read_dataset(csv_path)
    with pytest.raises(ValueError, match=r"missing file\(s\): x.png, y.png"):
        read_dataset(csv_path, image_column="path", label_column="mask")


def _cases(n: int) -> list[Case]:
    return [Case(f"case{i:03d}", Path(f"{i}.png")) for i in range(n)]


def test_split_cases_is_deterministic_and_disjoint() -> None:
    cases = _cases(23)
    a = split_cases(cases, {"train": 0.7, "val": 0.15, "test": 0.15}, seed=42)
    b = split_cases(list(reversed(cases)), {"train": 0.7, "val": 0.15, "test": 0.15}, seed=42)
    assert a == b
    ids = [c.case_id for part in a.values() for c in part]
    assert len(ids) == len(set(ids)) == 23
    assert {k: len(v) for k, v in a.items()} == {"train": 16, "val": 4, "test": 3}
    assert split_cases(cases, (0.7, 0.3), seed=1) != split_cases(cases, (0.7, 0.3), seed=2)


def test_split_cases_by_count_and_bad_arguments() -> None:
    parts = split_cases(_cases(10), n_val=3, seed=0)
    assert len(parts["train"]) == 7 and len(parts["val"]) == 3
    with pytest.raises(ValueError, match="exactly one"):
        split_cases(_cases(4))
    with pytest.raises(ValueError, match="sum to 1"):
        split_cases(_cases(4), (0.5, 0.2))
    with pytest.raises(ValueError, match="unique"):
        split_cases([*_cases(2), *_cases(2)], n_val=1)


def test_split_by_ids_and_parity() -> None:
    cases = [Case(n, Path(n)) for n in ("JPCLN001", "JPCLN002", "JPCNN003", "JPCNN010")]
    parity = split_by_parity(cases)
    assert [c.case_id for c in parity["odd"]] == ["JPCLN001", "JPCNN003"]
    parts = split_by_ids(cases, {"test": ["JPCNN010"]}, rest="train")
    assert len(parts["train"]) == 3
    with pytest.raises(ValueError, match="in no split"):
        split_by_ids(cases, {"test": ["JPCNN010"]})
    with pytest.raises(ValueError, match="both"):
        split_by_ids(cases, {"a": ["JPCLN001"], "b": ["JPCLN001"]}, rest="c")
    with pytest.raises(ValueError, match="unknown case"):
        split_by_ids(cases, {"a": ["nope"]}, rest="c")


def test_raster_cases_take_their_spacing_from_the_dataset_record(tmp_path) -> None:
    import json

    import numpy as np
    from PIL import Image as PILImage

    from vqseg_core.data.layouts import case_spacing, read_dataset
    from vqseg_core.io import load_image

    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    PILImage.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "images" / "a.png")
    PILImage.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "masks" / "a.png")
    entry = {"case_id": "a", "image": "images/a.png", "label": "masks/a.png", "spacing": [0.7, 0.7]}
    doc = {"labels": {"0": "background", "1": "lungs"}, "training": [entry]}
    (tmp_path / "dataset.json").write_text(json.dumps(doc), encoding="utf-8")
    case = read_dataset(tmp_path).cases[0]
    assert case_spacing(case, load_image(case.image)) == (0.7, 0.7)
    no_record = type(case)(case_id="a", image=case.image, label=case.label)
    assert case_spacing(no_record, load_image(case.image)) == (1.0, 1.0)
