"""Where the poster's noise level sits on our scale."""

from __future__ import annotations

import numpy as np
import pytest

from vqseg_core.study.noise_scale import matching_level, noise_scale_figure


def test_matching_level_interpolates_between_evaluated_levels() -> None:
    levels, drops = [0, 1, 5, 10], [0.0, 0.001, 0.009, 0.05]
    assert matching_level(levels, drops, 0.005) == pytest.approx(3.0)
    assert matching_level(levels, drops, 0.0) == 0.0
    assert matching_level(levels, drops, 0.2) is None


def test_noise_scale_figure_is_written(tmp_path) -> None:
    image = np.linspace(0, 1, 32 * 32).reshape(32, 32)
    path = noise_scale_figure(image, ["gaussian", "poisson"], [0, 10, 30], tmp_path / "f.png")
    assert path.stat().st_size > 1000
