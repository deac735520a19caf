"""The corrupt() entry point and the Corruption record, over every registered kind."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vqseg_core.perturb import REGISTRY, Corruption, corrupt

KINDS = sorted(REGISTRY)


@st.composite
def cases(draw: st.DrawFn) -> tuple[np.ndarray, Corruption]:
    """A kind, an image of a supported dimensionality (up to 32^2 or 12^3) and a level."""
    spec = REGISTRY[draw(st.sampled_from(KINDS))]
    dims = draw(st.sampled_from(spec.spatial_dims))
    side = 32 if dims == 2 else 12
    shape = tuple(draw(st.integers(2, side)) for _ in range(dims))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    image = np.random.default_rng(draw(st.integers(0, 2**16))).random(shape).astype(dtype)
    level = draw(st.floats(spec.minimum, spec.maximum))
    spacing = tuple(draw(st.floats(0.3, 3.0)) for _ in range(dims))
    seed = draw(st.integers(0, 2**32 - 1))
    return image, Corruption(spec.name, level, seed, spacing)


@settings(max_examples=200)
@given(cases())
def test_a_corruption_is_replayable_from_its_record(case: tuple[np.ndarray, Corruption]) -> None:
    image, corruption = case
    first = corruption.apply(image)
    replayed = Corruption.from_json(json.dumps(json.loads(corruption.to_json()))).apply(image)
    np.testing.assert_array_equal(first, replayed)


@settings(max_examples=200)
@given(cases())
def test_outputs_keep_shape_and_dtype_and_stay_finite_in_unit_range(
    case: tuple[np.ndarray, Corruption],
) -> None:
    image, corruption = case
    out = corruption.apply(image)
    assert out.shape == image.shape
    assert out.dtype == image.dtype
    assert np.isfinite(out).all()
    assert out.min() >= 0.0 and out.max() <= 1.0


@settings(max_examples=200)
@given(cases())
def test_the_identity_level_returns_the_input_exactly(case: tuple[np.ndarray, Corruption]) -> None:
    image, corruption = case
    identity = Corruption(corruption.kind, REGISTRY[corruption.kind].identity, corruption.seed)
    assert identity.is_identity
    out = identity.apply(image)
    np.testing.assert_array_equal(out, image)
    assert out is not image


@pytest.mark.parametrize("kind", [k for k in KINDS if REGISTRY[k].identity == 0])
def test_level_zero_is_the_identity(kind: str) -> None:
    image = np.random.default_rng(0).random((9, 10))
    np.testing.assert_array_equal(corrupt(image, kind, 0, seed=5), image)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_changes_the_image_at_its_default_level(kind: str) -> None:
    image = np.random.default_rng(1).random((16, 16))
    assert not np.array_equal(corrupt(image, kind, REGISTRY[kind].default, seed=2), image)


@pytest.mark.parametrize("kind", [k for k in KINDS if REGISTRY[k].stochastic])
def test_stochastic_kinds_depend_on_the_seed(kind: str) -> None:
    image = np.random.default_rng(1).random((16, 16))
    level = REGISTRY[kind].default
    assert not np.array_equal(
        corrupt(image, kind, level, seed=1), corrupt(image, kind, level, seed=2)
    )


def test_global_random_state_is_neither_used_nor_changed() -> None:
    # the legacy global numpy state is touched on purpose here
    image = np.full((8, 8), 0.5)
    np_state, torch_state = np.random.get_state(), torch.random.get_rng_state()  # noqa: NPY002
    a = corrupt(image, "gaussian", 10, seed=4)
    np.random.seed(123)  # noqa: NPY002
    torch.manual_seed(123)
    b = corrupt(image, "gaussian", 10, seed=4)
    np.testing.assert_array_equal(a, b)
    np.random.set_state(np_state)  # noqa: NPY002
    torch.random.set_rng_state(torch_state)
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    corrupt(image, "salt_and_pepper", 10, seed=4)
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # noqa: NPY002


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_tensors_are_corrupted_per_sample_with_the_same_seed(dtype: torch.dtype) -> None:
    batch = torch.rand(2, 3, 12, 10, generator=torch.Generator().manual_seed(0)).to(dtype)
    out = corrupt(batch, "poisson", 10, seed=7)
    assert isinstance(out, torch.Tensor)
    assert out.shape == batch.shape and out.dtype == dtype and out.device == batch.device
    single = corrupt(batch[1, 2].double().numpy(), "poisson", 10, seed=7)
    np.testing.assert_allclose(
        out[1, 2].double().numpy(), single, atol=1e-2 if dtype == torch.bfloat16 else 1e-6
    )


def test_a_3d_batch_tensor_is_treated_as_volumes() -> None:
    volume = torch.rand(1, 1, 6, 7, 8, dtype=torch.float64)
    out = corrupt(volume, "gaussian_blur", 1.0, spacing=(1.0, 1.0, 2.0))
    expected = corrupt(volume[0, 0].numpy(), "gaussian_blur", 1.0, spacing=(1.0, 1.0, 2.0))
    np.testing.assert_allclose(out[0, 0].numpy(), expected)


def test_spatial_dims_selects_trailing_axes_of_a_channel_first_tensor() -> None:
    image = torch.rand(3, 10, 10, dtype=torch.float64)
    out = corrupt(image, "jpeg", 50, spatial_dims=2)
    assert out.shape == image.shape
    with pytest.raises(ValueError, match="jpeg"):
        corrupt(image, "jpeg", 50)  # inferred as a 3D volume


def test_identity_of_a_float64_tensor_is_a_copy_not_a_view() -> None:
    image = torch.rand(4, 4, dtype=torch.float64)
    out = corrupt(image, "gaussian", 0)
    out[0, 0] = 2.0
    assert image[0, 0] <= 1.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "blurry", "level": 1}, "blurry"),
        ({"kind": "gaussian", "level": 31}, "gaussian"),
        ({"kind": "gaussian", "level": -1}, "out of range"),
        ({"kind": "downsample", "level": 0}, "downsample"),
        ({"kind": "gaussian", "level": float("nan")}, "out of range"),
        ({"kind": "gaussian", "level": True}, "number"),
        ({"kind": "gaussian", "level": 1, "seed": -1}, "seed"),
        ({"kind": "gaussian", "level": 1, "seed": 1.5}, "seed"),
        ({"kind": "gaussian", "level": 1, "spacing": (1.0, 0.0)}, "spacing"),
    ],
)
def test_bad_parameters_raise_value_error(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        corrupt(np.zeros((4, 4)), **kwargs)


@pytest.mark.parametrize(
    ("image", "match"),
    [
        (np.zeros((4, 4), dtype=np.uint8), "dtype"),
        (np.full((4, 4), 2.0), r"\[0, 1\]"),
        (np.full((4, 4), np.nan), "non-finite"),
        (np.zeros((4,)), "spatial dims"),
    ],
)
def test_bad_images_raise_value_error(image: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        corrupt(image, "gaussian", 5)


def test_spacing_must_match_the_dimensionality() -> None:
    with pytest.raises(ValueError, match="spacing"):
        corrupt(np.zeros((4, 4)), "gaussian_blur", 1, spacing=(1.0, 1.0, 1.0))


def test_non_arrays_raise_type_error() -> None:
    with pytest.raises(TypeError):
        corrupt([[0.0, 1.0]], "gaussian", 5)  # type: ignore[arg-type]


def test_record_round_trips_through_dict_and_rejects_unknown_keys() -> None:
    record = Corruption("motion", 2.5, 11, (0.5, 0.5, 2.0))
    assert Corruption.from_dict(record.to_dict()) == record
    assert json.loads(record.to_json()) == {
        "kind": "motion",
        "level": 2.5,
        "seed": 11,
        "spacing": [0.5, 0.5, 2.0],
    }
    with pytest.raises(ValueError, match="colour"):
        Corruption.from_dict({"kind": "gaussian", "level": 1, "colour": "red"})


def test_values_within_rounding_of_the_unit_range_are_accepted() -> None:
    image = np.array([[-1e-9, 0.5], [0.25, 1 + 1e-9]])
    out = corrupt(image, "gaussian", 1)
    assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('{"kind": "gaussian"}', "needs level"),
        ('{"level": 3}', "needs kind"),
        ("[1, 2]", "JSON object"),
        ('{"kind": 3, "level": 1}', "kind must be"),
        ('{"kind": "gaussian", "level": 1, "spacing": 2}', "spacing"),
        ('{"kind": "gaussian", "level": ' + "9" * 5000 + "}", "not a corruption record"),
        ("not json", "not a corruption record"),
    ],
)
def test_from_json_of_a_bad_record_says_what_is_wrong(text: str, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        Corruption.from_json(text)
