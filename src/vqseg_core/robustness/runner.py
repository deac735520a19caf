"""Batched forward passes of one network over the corrupted draws of one image."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from vqseg_core.inference import Predictor
from vqseg_core.models.output import Encoding
from vqseg_core.volume import Cancelled

CancelFn = Callable[[], bool]
__all__ = ["Cancelled", "DrawOutputs", "check_cancel", "is_windowed", "run_draws"]


@dataclass(frozen=True)
class DrawOutputs:
    """What one network made of N draws of one image (all on the CPU).

    Attributes:
        labels: ``(M, *model_shape)`` uint8 argmax labels of the decoded draws (M = 1 when
            only draw 0 is decoded, N when all are).
        features: ``(N, D, *latent)`` float32 bottleneck features, or ``None`` (windowed).
        quantized: ``(N, D, *latent)`` quantised latents (VQ only), else ``None``.
        indices: ``(N, *latent)`` code indices (VQ only), else ``None``.
        clean_indices: ``(*latent)`` code indices of the clean image (VQ only), else ``None``.
        clean_features: ``(D, *latent)`` features of the clean image (draw 0 when no clean
            image was given), else ``None``.
    """

    labels: np.ndarray
    features: torch.Tensor | None
    quantized: torch.Tensor | None
    indices: torch.Tensor | None
    clean_indices: torch.Tensor | None
    clean_features: torch.Tensor | None = None

    @property
    def has_latents(self) -> bool:
        """Whether latent maps are available (not for sliding-window inference)."""
        return self.features is not None


def is_windowed(predictor: Predictor, model_shape: tuple[int, ...]) -> bool:
    """Whether ``predictor`` runs a sliding window on inputs of ``model_shape``."""
    return predictor.windowed(model_shape)


def check_cancel(cancel: CancelFn | None) -> None:
    """Raise :class:`Cancelled` if ``cancel`` says so."""
    if cancel is not None and cancel():
        raise Cancelled("cancelled")


def run_draws(
    predictor: Predictor,
    draws: np.ndarray,
    clean: np.ndarray | None = None,
    *,
    decode_all: bool = False,
    latents: bool = True,
    batch_size: int = 8,
    cancel: CancelFn | None = None,
) -> DrawOutputs:
    """Run one network over ``draws`` in batches.

    Labels: draw 0 is decoded alone, exactly as :meth:`ModelPair.predict` runs the clean image
    (so its labels equal the clean prediction at a corruption's identity level); with
    ``decode_all`` every draw is decoded, ``batch_size`` at a time, at the predictor's precision.

    Latents (``latents=True``): all draws, and the clean image when given (for the code-flip
    map of a VQ model), are encoded ``batch_size`` at a time, the last batch padded to the same
    size, always in **float32** (draws that are all identical, as at a corruption's identity
    level, are encoded once): bf16 rounding alone moves the features by about 1e-2 (and
    differently at different batch positions), which would show up as latent variance and as
    spurious code flips. Identical inputs therefore give identical latents.

    For inputs larger than the predictor's patch size (3D sliding window) and for volumes under
    a 2D network only labels are computed (slab by slab, :meth:`Predictor.predict_volume`);
    latents are ``None``.

    Args:
        predictor: the network on its device.
        draws: ``(N, C, *model_shape)`` float32 model-frame inputs.
        clean: ``(C, *model_shape)`` the uncorrupted input, or ``None`` when draw 0 is clean.
        decode_all: decode every draw (evaluation) instead of draw 0 only (live view).
        latents: compute the bottleneck statistics' inputs.
        batch_size: draws per forward pass.
        cancel: returns True to abort; checked before every batch.

    Raises:
        Cancelled: ``cancel()`` returned True.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    n = draws.shape[0]
    tensor = torch.from_numpy(np.ascontiguousarray(draws, dtype=np.float32))
    windowed = is_windowed(predictor, tuple(draws.shape[2:]))
    labels: list[np.ndarray] = []
    decoded = tensor if decode_all else tensor[:1]
    size = min(batch_size, decoded.shape[0]) if decode_all else 1
    for start in range(0, decoded.shape[0], size):
        check_cancel(cancel)
        if windowed:  # one volume at a time, labels only (no K x volume logits)
            for one in decoded[start : start + size]:
                labels.append(predictor.predict_volume(one[None], cancel=cancel)[None])
            continue
        logits = predictor.forward(decoded[start : start + size], with_encoding=False).logits
        labels.append(_argmax(logits))
    label_arr = np.concatenate(labels)
    if windowed or not latents:
        return DrawOutputs(label_arr, None, None, None, None)

    # identical draws (identity level, deterministic kinds) are encoded once: even float32
    # kernels differ in the last bits between batch positions, which is not latent variance
    same = all(np.array_equal(draws[0], draws[d]) for d in range(1, n))
    if same and clean is not None and np.array_equal(draws[0, None], np.asarray(clean)[None]):
        clean = None
    items = tensor[:1] if same else tensor
    if clean is not None:
        items = torch.cat([items, _as_batch(clean)])
    size = min(batch_size, items.shape[0])
    encs: list[Encoding] = []
    for start in range(0, items.shape[0], size):
        check_cancel(cancel)
        batch = items[start : start + size]
        real = batch.shape[0]
        if real < size:  # one batch shape throughout: the same kernels for every input
            batch = torch.cat([batch, batch[-1:].expand(size - real, *batch.shape[1:])])
        encs.append(_trim(_encode(predictor, batch), real))
    m = 1 if same else n  # encoded draws; then the clean image, if any
    features = torch.cat([e.features for e in encs])
    quantized = _cat([e.quantized for e in encs])
    indices = _cat([e.indices for e in encs])
    clean_features = features[m] if clean is not None else features[0]
    clean_indices = None
    if indices is not None:
        clean_indices = indices[m] if clean is not None else indices[0]

    def draws_of(t: torch.Tensor | None) -> torch.Tensor | None:
        return None if t is None else t[:m].expand(n, *t.shape[1:]) if same else t[:n]

    return DrawOutputs(
        label_arr,
        draws_of(features),
        draws_of(quantized),
        draws_of(indices),
        clean_indices,
        clean_features,
    )


def _cat(parts: list[torch.Tensor | None]) -> torch.Tensor | None:
    present = [p for p in parts if p is not None]
    return torch.cat(present) if present and len(present) == len(parts) else None


def _as_batch(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None]


def _trim(enc: Encoding, n: int) -> Encoding:
    def cut(t: torch.Tensor | None) -> torch.Tensor | None:
        return None if t is None else t[:n]

    return Encoding(enc.features[:n], cut(enc.quantized), cut(enc.indices))


def _argmax(logits: torch.Tensor) -> np.ndarray:
    return logits.argmax(1).numpy().astype(np.uint8)


def _encode(predictor: Predictor, x: torch.Tensor) -> Encoding:
    """The float32 bottleneck of ``x`` on the predictor's device and memory format."""
    x = x.to(predictor.device).contiguous(memory_format=predictor.memory_format)
    with torch.inference_mode(), torch.autocast(predictor.device.type, enabled=False):
        enc = predictor.model.encode(x)

    def cpu(t: torch.Tensor | None) -> torch.Tensor | None:
        return None if t is None else (t.float().cpu() if t.is_floating_point() else t.cpu())

    return Encoding(cpu(enc.features), cpu(enc.quantized), cpu(enc.indices))  # type: ignore[arg-type]
