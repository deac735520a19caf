"""In-memory training data and counter-based batch sampling.

Every batch is a pure function of ``(seed, step, rank)``: the sampler draws case indices,
crops and augmentations from ``numpy.random.default_rng([seed, step, rank])``, so a run resumed
at step ``s`` sees exactly the batches an uninterrupted run would have seen.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from vqseg_core.data.cases import Sample  # one case on the model grid (re-exported here)
from vqseg_core.train.augment import AUGMENTATIONS, augment_sample, draw_batch_corruption

__all__ = [
    "AUGMENTATIONS",
    "Sample",
    "SegmentationData",
    "step_rng",
    "step_torch_seed",
]


class SegmentationData:
    """Samples batches of (image, label) crops from preprocessed cases.

    Args:
        samples: the cases.
        patch_size: crop size; ``None`` uses whole images (all must then share one shape).
        augment: names from :data:`~vqseg_core.train.augment.AUGMENTATIONS`.
        foreground_fraction: probability that a crop is centred on a foreground voxel.
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        patch_size: Sequence[int] | None = None,
        augment: Sequence[str] = (),
        foreground_fraction: float = 0.5,
    ) -> None:
        if not samples:
            raise ValueError("no training cases")
        unknown = sorted(set(augment) - set(AUGMENTATIONS))
        if unknown:
            raise ValueError(f"unknown augmentations {unknown}; known: {AUGMENTATIONS}")
        self.samples = list(samples)
        self.patch_size = tuple(patch_size) if patch_size else None
        self.augment = tuple(augment)
        self.foreground_fraction = foreground_fraction
        if self.patch_size is None and len({s.image.shape for s in self.samples}) > 1:
            raise ValueError("cases differ in shape: set data.patch_size or data.image_size")
        self._foreground = [np.argwhere(s.label > 0) for s in self.samples]

    def __len__(self) -> int:
        return len(self.samples)

    def batch(self, rng: np.random.Generator, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch ``(B, C, *patch)`` float32 and ``(B, 1, *patch)`` int64 drawn with ``rng``."""
        images, labels = [], []
        corruption = draw_batch_corruption(rng) if "corrupt" in self.augment else None
        for _ in range(batch_size):
            i = int(rng.integers(len(self.samples)))
            image, label = self._crop(i, rng)
            image, label = augment_sample(image, label, rng, self.augment, corruption)
            images.append(image)
            labels.append(label[None])
        return torch.from_numpy(np.stack(images)), torch.from_numpy(np.stack(labels))

    def _crop(self, i: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        s = self.samples[i]
        if self.patch_size is None:
            return s.image, s.label
        shape = s.label.shape
        fg = self._foreground[i]
        if len(fg) and rng.random() < self.foreground_fraction:
            centre = fg[int(rng.integers(len(fg)))]
        else:
            centre = np.array([int(rng.integers(n)) for n in shape])
        starts = [
            int(np.clip(c - p // 2, 0, max(n - p, 0)))
            for c, p, n in zip(centre, self.patch_size, shape, strict=True)
        ]
        window = tuple(slice(a, a + p) for a, p in zip(starts, self.patch_size, strict=True))
        image, label = s.image[(slice(None), *window)], s.label[window]
        pads = [(0, p - n) for p, n in zip(self.patch_size, label.shape, strict=True)]
        if any(after for _, after in pads):
            image = np.pad(image, [(0, 0), *pads], mode="edge")
            label = np.pad(label, pads, mode="constant")
        return image, label


def step_rng(seed: int, step: int, rank: int = 0) -> np.random.Generator:
    """The numpy generator of one step (counter-based: a pure function of its arguments)."""
    return np.random.default_rng([seed, step, rank])


def step_torch_seed(seed: int, step: int, rank: int = 0) -> int:
    """The torch seed of one step (k-means init, dead-code restarts), shared by all ranks."""
    del rank  # the codebook's own randomness must agree across ranks
    return int(np.random.default_rng([seed, step, 7919]).integers(2**62))
