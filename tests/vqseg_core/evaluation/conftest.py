"""Small paired-folder datasets of synthetic discs (labels 1 ring, 2 core), like the tiny pair's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def write_disc_dataset(
    root: Path, n: int, seed: int, *, size: int = 64, contrast: float = 1.0
) -> Path:
    """``root/images/caseNN.png`` and ``root/masks/caseNN.png``; ``contrast`` < 1 shifts the domain."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    yy, xx = np.mgrid[:size, :size]
    for i in range(n):
        cy, cx = rng.uniform(0.4, 0.6, 2) * size
        r = rng.uniform(0.17, 0.24) * size
        label = (((yy - cy) ** 2 + (xx - cx) ** 2) < r * r).astype(np.uint8)
        label[(np.abs(yy - cy) < r / 3) & (np.abs(xx - cx) < r / 3)] = 2
        image = (
            0.2
            + contrast * (0.3 * (label > 0) + 0.3 * (label == 2))
            + 0.04 * rng.normal(size=label.shape)
        )
        Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8)).save(
            root / "images" / f"case{i:02d}.png"
        )
        Image.fromarray(label).save(root / "masks" / f"case{i:02d}.png")
    return root


@pytest.fixture(scope="session")
def disc_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five disc cases in the tiny pair's domain."""
    return write_disc_dataset(tmp_path_factory.mktemp("discs") / "discs", 5, seed=11)


@pytest.fixture(scope="session")
def shifted_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three disc cases with lower contrast (another "domain")."""
    return write_disc_dataset(tmp_path_factory.mktemp("faint") / "faint", 3, seed=12, contrast=0.5)
