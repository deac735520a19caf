"""Labels the model does not know, checked at the door of training and of evaluation.

Before: a 0/255 mask, a palette PNG, a label 7 or -1 killed training inside torch's
``one_hot`` (no file, no value named) and evaluation exited 0 with every score ``nan``; three
classes were accepted for a two-output model. Now each is a ``LabelError`` (a ``ValueError``)
naming the label file and the values, and ``data.label_map`` maps values on request.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vqseg_core.data.cases import LoadedCase, model_sample, read_case
from vqseg_core.data.labels import (
    LabelError,
    apply_label_map,
    check_classes_fit,
    check_label_map,
    check_labels,
    integer_labels,
    unexpected_values,
)
from vqseg_core.data.layouts import Case
from vqseg_core.data.preprocess import get_recipe
from vqseg_core.data.spec import DataConfig
from vqseg_core.evaluation.common import checked_truth
from vqseg_core.models import ModelConfig, build_model
from vqseg_core.train.config import TrainConfig
from vqseg_core.train.dataset import load_training_data

CLASSES = {1: "lungs", 2: "heart"}


def _png(path: Path, array: np.ndarray, palette: bool = False) -> Path:
    image = Image.fromarray(array.astype(np.uint8), mode="P" if palette else "L")
    if palette:
        image.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * (253 * 3))
    image.save(path)
    return path


def _dataset(root: Path, masks: list[np.ndarray], palette: bool = False) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    for i, mask in enumerate(masks):
        _png(root / "images" / f"c{i}.png", rng.integers(0, 255, mask.shape))
        _png(root / "masks" / f"c{i}.png", mask, palette)
    return root


def _mask(values: tuple[int, ...]) -> np.ndarray:
    mask = np.zeros((32, 32), np.int64)
    for k, v in enumerate(values):
        mask[4 + 8 * k : 10 + 8 * k, 4:20] = v
    return mask


def _config(root: Path, out_channels: int = 3, **data) -> TrainConfig:
    model = ModelConfig(kind="unet", out_channels=out_channels, channels=(8, 16), norm_groups=4)
    fields = {"labels": dict(list(CLASSES.items())[: out_channels - 1]), **data}
    return TrainConfig(
        model=model,
        data=DataConfig(dataset=str(root), recipe="chest_xray", image_size=(32, 32),
                        split="ids", val_cases=("c1",), **fields),
    )  # fmt: skip


# ---- training -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("values", "out", "shown"),
    [((255,), 2, "255"), ((1, 7), 3, "7"), ((1, 2), 2, "2")],
    ids=["0-255-mask", "label-7", "three-labels-two-outputs"],
)
def test_training_names_the_file_and_the_unknown_values(
    tmp_path: Path, values: tuple[int, ...], out: int, shown: str
) -> None:
    root = _dataset(tmp_path / "d", [_mask(values), _mask((1,))])
    with pytest.raises(LabelError, match=rf"label values {shown} \(\d+ voxels\)") as info:
        load_training_data(_config(root, out))
    assert str(root / "masks" / "c0.png") in str(info.value)
    assert "data.label_map" in str(info.value) and info.value.values == (int(shown),)


def test_training_refuses_a_palette_mask_naming_the_file(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "d", [_mask((1, 2)), _mask((1,))], palette=True)
    with pytest.raises(LabelError, match="not integers") as info:
        load_training_data(_config(root))
    assert str(root / "masks") in str(info.value) and "palette" in str(info.value)


def test_negative_labels_are_refused_in_training(tmp_path: Path) -> None:
    loaded = LoadedCase("c", np.zeros((8, 8), np.float32), (1.0, 1.0), _mask((1,))[:8, :8] - 1,
                        "masks/c.nii.gz")  # fmt: skip
    with pytest.raises(LabelError, match=r"label values -1 \(") as info:
        model_sample(loaded, get_recipe("chest_xray").replace(target_shape=(8, 8)), None, CLASSES)
    assert "masks/c.nii.gz" in str(info.value)


def test_the_opt_in_label_map_trains_a_0_255_mask(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "d", [_mask((255,)), _mask((255,))])
    train, val = load_training_data(_config(root, 2, label_map={255: 1}))
    assert set(np.unique(train[0].label)) == {0, 1} and set(np.unique(val[0].label)) == {0, 1}
    logits = build_model(ModelConfig(kind="unet", out_channels=2, channels=(8, 16), norm_groups=4))(
        torch.from_numpy(train[0].image[None])
    )
    torch.nn.functional.one_hot(torch.from_numpy(train[0].label), logits.shape[1])  # no error


def test_a_label_map_onto_an_unknown_class_is_refused(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "d", [_mask((255,)), _mask((255,))])
    with pytest.raises(LabelError, match=r"data\.label_map: maps onto \[5\]"):
        load_training_data(_config(root, 2, label_map={255: 5}))


def test_three_classes_are_refused_for_a_two_output_model(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "d", [_mask((1,)), _mask((1,))])
    config = _config(root, 2, labels=CLASSES)
    with pytest.raises(LabelError, match=r"data\.labels: classes \[2\] are not outputs"):
        load_training_data(config)


def test_clean_masks_still_train(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "d", [_mask((1, 2)), _mask((1,))])
    train, _ = load_training_data(_config(root))
    assert set(np.unique(train[0].label)) == {0, 1, 2}


# ---- reading ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "words"),
    [(0.5, "not integers"), (np.nan, "NaN"), (1e30, "outside")],
    ids=["half", "nan", "huge"],
)
def test_label_files_must_hold_integers(value: float, words: str) -> None:
    a = np.zeros((4, 4), np.float64)
    a[1, 1] = value
    with pytest.raises(LabelError, match=words) as info:
        integer_labels(a, "masks/x.nii")
    assert str(info.value).startswith("masks/x.nii: ")


def test_float_labels_close_to_integers_are_rounded() -> None:
    a = np.array([[0.0, 0.9999999], [2.0000001, 1.0]], np.float32)
    np.testing.assert_array_equal(integer_labels(a, "x"), [[0, 1], [2, 1]])


def test_read_case_names_a_fractional_nifti_label(tmp_path: Path) -> None:
    nib = pytest.importorskip("nibabel")
    image, label = tmp_path / "i.nii.gz", tmp_path / "l.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 2), np.float32), np.eye(4)), image)
    nib.save(nib.Nifti1Image(np.full((4, 4, 2), 0.4, np.float32), np.eye(4)), label)
    with pytest.raises(LabelError, match="not integers") as info:
        read_case(Case("c", image, label))
    assert str(label) in str(info.value)


def test_unexpected_values_counts_voxels_in_one_pass_and_for_wide_ranges() -> None:
    a = np.array([0, 1, 1, 255, 255, 255, 7])
    assert unexpected_values(a, {0, 1}) == {7: 1, 255: 3}
    assert unexpected_values(np.array([-5, 0, 2**40]), {0}) == {-5: 1, 2**40: 1}
    assert unexpected_values(np.zeros(0, np.int64), {0}) == {}


def test_label_errors_survive_pickling() -> None:
    with pytest.raises(LabelError) as info:
        check_labels(np.array([0, 9]), CLASSES, "m.png")
    copy = pickle.loads(pickle.dumps(info.value))
    assert str(copy) == str(info.value) and copy.values == (9,) and copy.source == "m.png"


def test_label_map_helpers() -> None:
    assert check_label_map({"255": "1"}, CLASSES) == {255: 1}
    np.testing.assert_array_equal(apply_label_map(np.array([0, 255, 7]), {255: 1}), [0, 1, 0])
    check_classes_fit(CLASSES, 3)
    with pytest.raises(LabelError, match=r"\[2\]"):
        check_classes_fit(CLASSES, 2)


# ---- evaluation ---------------------------------------------------------------------------
def _case(values: tuple[int, ...]) -> LoadedCase:
    return LoadedCase("c0", np.zeros((32, 32), np.float32), (1.0, 1.0), _mask(values), "gt/c0.png")


def test_evaluation_refuses_unknown_ground_truth_values_naming_the_file() -> None:
    with pytest.raises(LabelError, match=r"gt/c0\.png: label values 255 \(") as info:
        checked_truth(_case((255,)), {1: "lungs"})
    assert "label map" in str(info.value)


def test_evaluation_maps_ground_truth_on_request() -> None:
    truth = checked_truth(_case((255,)), {1: "lungs"}, {255: 1})
    assert set(np.unique(truth)) == {0, 1}
    assert checked_truth(_case((1,)), {1: "lungs"}) is not None


def test_scoring_a_0_255_mask_is_an_error_not_a_table_of_nan(tmp_path: Path) -> None:
    from vqseg_core.evaluation.segmentation import score_case_draws
    from vqseg_core.modelset import set_from_files
    from vqseg_core.weights import export_weights

    config = ModelConfig(kind="unet", out_channels=2, channels=(8, 16), norm_groups=4)
    data = {"recipe": "chest_xray", "image_size": [32, 32], "labels": {"1": "lungs"}}
    _, path = export_weights(build_model(config), {"model": config.to_dict(), "data": data},
                             tmp_path, "u")  # fmt: skip
    models = set_from_files([path])
    case = _case((255,))
    with pytest.raises(LabelError, match=r"gt/c0\.png: label values 255"):
        score_case_draws(models, case, "gaussian", 0.0, n_draws=1, seed=0, device="cpu")
    rows = score_case_draws(models, case, "gaussian", 0.0, n_draws=1, seed=0, device="cpu",
                            label_map={255: 1})  # fmt: skip
    assert not np.isnan(rows[0]["dice_lungs"])  # the class is annotated: scored, not nan


@pytest.mark.parametrize("value", ["255:1", {"a": 1}, [1, 2]])
def test_a_malformed_label_map_in_the_config_is_named(value) -> None:
    with pytest.raises(ValueError, match=r"data\.label_map must map label values"):
        DataConfig.from_dict({"label_map": value})
    assert DataConfig.from_dict({"label_map": {"255": "1"}}).label_map == {255: 1}
