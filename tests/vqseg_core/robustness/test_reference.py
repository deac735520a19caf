"""The reference model of a view: disagreement maps, and changing it without a new run."""

from __future__ import annotations

import numpy as np
import pytest

from vqseg_core.robustness import analyse


def test_disagreement_against_a_chosen_reference(tiny_set) -> None:
    image = np.random.default_rng(1).random((64, 64)).astype(np.float32)
    view = analyse(tiny_set, image, kind="gaussian", level=20, device="cpu", latents=False)
    assert view.reference == "unet" and view.models["unet"].disagreement is None
    ref = view.models["unet"].labels
    for key in ("vqunet", "vqskip"):
        assert np.array_equal(view.models[key].disagreement, view.models[key].labels != ref)
    anywhere = (view.models["vqunet"].labels != ref) | (view.models["vqskip"].labels != ref)
    assert np.array_equal(view.disagreement, anywhere)

    again = analyse(tiny_set, image, kind="gaussian", level=20, device="cpu", latents=False,
                    reference="vqskip")  # fmt: skip
    moved = view.with_reference("vqskip")
    assert moved.reference == "vqskip" and moved.models["vqskip"].disagreement is None
    assert np.array_equal(moved.disagreement, again.disagreement)
    for key in ("unet", "vqunet"):
        assert np.array_equal(moved.models[key].disagreement, again.models[key].disagreement)
    with pytest.raises(KeyError, match="no model"):
        view.with_reference("nope")
    assert view.models["vqunet"].latents == {}  # latents=False: masks and scores only
