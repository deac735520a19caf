"""Fixtures shared by the training tests: one uninterrupted reference run, trained once."""

from __future__ import annotations

from pathlib import Path

import pytest

from vqseg_core.train.loop import train

from ._synthetic import disc_data, quiet, reference_config


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of an uninterrupted run of :func:`reference_config` on the discs."""
    out = tmp_path_factory.mktemp("reference") / "run"
    train(reference_config(), out, data=disc_data(), device="cpu", echo=quiet)
    return out
