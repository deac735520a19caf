"""Hypothesis byte mutations of valid files: a finite float32 image of the declared shape, or
ImageLoadError: nothing else, ever."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from fuzz_files import MUTATION_EXAMPLES, MUTATION_SUFFIXES, mutations, valid_headers
from vqseg_core.io import ImageLoadError, load_image

OUTCOMES: dict[str, dict[str, int]] = {s: {"loaded": 0, "refused": 0} for s in MUTATION_SUFFIXES}


@pytest.fixture(scope="module")
def valid(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, tuple[bytes, int]]]:
    folder = tmp_path_factory.mktemp("valid_headers")
    return folder, valid_headers(folder)


def _declared(shape: tuple[int, ...], ornt: object) -> tuple[int, ...]:
    """Declared grid as the canonical array holds it (volumes: first three axes, padded)."""
    return shape if ornt is None else (*shape[:3], 1, 1)[:3]


def _check(folder: Path, suffix: str, original: bytes, mutated: bytes, data_only: bool) -> None:
    path = folder / f"mutant{suffix}"
    path.write_bytes(mutated)
    reference = load_image(folder / f"v{suffix}")
    try:
        img = load_image(path)
    except ImageLoadError as err:
        assert path.name in str(err)
        OUTCOMES[suffix]["refused"] += 1
        return
    OUTCOMES[suffix]["loaded"] += 1
    assert img.array.dtype == np.float32
    assert img.array.ndim in (2, 3) and img.array.size > 0
    assert np.isfinite(img.array).all()
    assert img.array.size == math.prod(img.geometry.shape)
    assert sorted(img.array.shape) == sorted(_declared(img.geometry.shape, img.geometry.ornt))
    if data_only or mutated == original:
        assert img.array.shape == reference.array.shape


@pytest.mark.parametrize("suffix", MUTATION_SUFFIXES)
def test_mutated_file_loads_faithfully_or_raises_image_load_error(valid, suffix: str) -> None:
    folder, files = valid
    raw, header = files[suffix]

    @settings(
        max_examples=MUTATION_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(mutations(raw, header))
    def run(case: tuple[bytes, bool]) -> None:
        mutated, data_only = case
        _check(folder, suffix, raw, mutated, data_only)

    run()
    assert OUTCOMES[suffix]["refused"] > 0  # the mutations do reach the failure paths


def test_mutations_sometimes_load(valid) -> None:
    """Runs after the parametrised cases: data-only mutations must mostly load."""
    loaded = sum(o["loaded"] for o in OUTCOMES.values())
    if not any(OUTCOMES[s]["refused"] for s in OUTCOMES):
        pytest.skip("run together with the mutation cases")
    assert loaded > 0, OUTCOMES
