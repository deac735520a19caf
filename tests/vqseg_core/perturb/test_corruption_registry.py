"""The registry of corruption kinds: ranges, units, identity levels, lookups."""

from __future__ import annotations

import json

import pytest

from vqseg_core.perturb import PAPER_KINDS, REGISTRY, get_spec, list_corruptions

KNOWN_UNITS = {"%", "mm", "factor", "gamma", "quality"}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_spec_has_a_consistent_range(name: str) -> None:
    spec = REGISTRY[name]
    assert spec.name == name
    assert spec.minimum <= spec.default <= spec.maximum
    assert spec.minimum <= spec.identity <= spec.maximum
    assert spec.default != spec.identity
    assert spec.units in KNOWN_UNITS
    assert spec.label and spec.description
    assert set(spec.spatial_dims) <= {2, 3} and 2 in spec.spatial_dims


def test_the_paper_kinds_come_first_in_percent_from_0_to_30() -> None:
    assert tuple(REGISTRY)[:3] == PAPER_KINDS
    for name in PAPER_KINDS:
        spec = REGISTRY[name]
        assert (spec.minimum, spec.maximum, spec.identity, spec.units) == (0.0, 30.0, 0.0, "%")


def test_the_requested_kinds_are_all_registered() -> None:
    wanted = {
        "gaussian", "salt_and_pepper", "poisson", "speckle", "rician", "gaussian_blur",
        "bias_field", "motion", "ghosting", "kspace_spike", "gibbs", "gamma", "contrast",
        "downsample", "jpeg",
    }  # fmt: skip
    assert wanted <= set(REGISTRY)


def test_specs_serialise_to_json_without_the_function() -> None:
    text = json.dumps([s.to_dict() for s in list_corruptions()])
    assert "func" not in text
    assert json.loads(text)[0]["name"] == "gaussian"


def test_list_corruptions_filters_by_dimensionality() -> None:
    assert "jpeg" in {s.name for s in list_corruptions(2)}
    assert "jpeg" not in {s.name for s in list_corruptions(3)}
    assert len(list_corruptions()) == len(REGISTRY)
    with pytest.raises(ValueError, match="spatial_dims"):
        list_corruptions(4)


def test_unknown_kind_raises_naming_it() -> None:
    with pytest.raises(ValueError, match="'blurry'"):
        get_spec("blurry")


def test_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        REGISTRY["x"] = REGISTRY["gaussian"]  # type: ignore[index]
