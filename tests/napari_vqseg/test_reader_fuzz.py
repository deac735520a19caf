"""Issue #6: the plugin reader declines or loads every fuzz file of the io tests, never raising
anything but its documented error.

The reader's promise (``napari_vqseg._reader``): ``get_reader`` never raises and returns ``None``
for what it declines; the read function returns one image or labels layer per path, or raises
``ImageLoadError`` naming the bad file. The fuzz files are those of ``tests/vqseg_core/io``
(``tests/fuzz_files.py``): 58 named malformed files, empty and random files for 13 extensions,
and the same Hypothesis byte mutations of real headers.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from fuzz_files import (
    CASES,
    EXTENSIONS,
    MUTATION_EXAMPLES,
    MUTATION_SUFFIXES,
    RANDOM_SEEDS,
    empty_file,
    mutations,
    random_file,
    valid_headers,
)
from napari_vqseg._reader import get_reader
from vqseg_core.io import ImageLoadError


def open_with_plugin(path: Path) -> str:
    """Run ``path`` through the reader as napari does; ``declined``, ``refused`` or ``loaded``.

    Anything but ``None`` / a callable from ``get_reader``, or an exception other than an
    ``ImageLoadError`` naming the file from the read function, fails the test.
    """
    reader = get_reader(str(path))
    if reader is None:
        return "declined"
    assert callable(reader)
    try:
        layers = reader(str(path))
    except ImageLoadError as err:
        assert path.name in str(err)
        return "refused"
    [(data, kwargs, kind)] = layers
    assert kind in ("image", "labels")
    assert isinstance(data, np.ndarray) and data.ndim in (2, 3) and data.size > 0
    assert np.isfinite(data).all()  # NaN/Inf voxels are replaced, never passed on
    assert len(kwargs["scale"]) == data.ndim
    return "loaded"


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_file(tmp_path: Path, case: str) -> None:
    open_with_plugin(CASES[case](tmp_path))


def test_the_malformed_files_are_all_covered() -> None:
    assert len(CASES) == 58 and len(EXTENSIONS) == 13


@pytest.mark.parametrize("ext", EXTENSIONS)
def test_empty_file_is_declined(tmp_path: Path, ext: str) -> None:
    assert open_with_plugin(empty_file(tmp_path, ext)) == "declined"


@pytest.mark.parametrize("ext", EXTENSIONS)
@pytest.mark.parametrize("seed", RANDOM_SEEDS)
def test_random_bytes(tmp_path: Path, ext: str, seed: int) -> None:
    assert open_with_plugin(random_file(tmp_path, ext, seed)) in ("declined", "refused")


@pytest.mark.parametrize("suffix", MUTATION_SUFFIXES)
def test_mutated_real_header(tmp_path_factory: pytest.TempPathFactory, suffix: str) -> None:
    folder = tmp_path_factory.mktemp("reader_mutants")
    raw, header = valid_headers(folder)[suffix]
    outcomes: Counter[str] = Counter()

    @settings(
        max_examples=MUTATION_EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(mutations(raw, header))
    def run(case: tuple[bytes, bool]) -> None:
        path = folder / f"mutant{suffix}"
        path.write_bytes(case[0])
        outcomes[open_with_plugin(path)] += 1

    run()
    assert outcomes["refused"] > 0, outcomes  # the mutations reach the failure paths
