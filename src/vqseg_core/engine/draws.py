"""Batched forward passes of one network over the corrupted draws of one image."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from vqseg_core.inference import Predictor
from vqseg_core.volume import Cancelled

CancelFn = Callable[[], bool]
CleanEncoding = dict[str, tuple]
"""The clean image's latents: name -> ``(features, quantized, indices)`` (batch axis of 1)."""
BOTTLENECK = "bottleneck"
__all__ = [
    "BOTTLENECK",
    "Cancelled",
    "CleanEncoding",
    "DrawOutputs",
    "LatentDraws",
    "check_cancel",
    "encode_clean",
    "encode_draws",
    "has_latents",
    "has_quantizer",
    "is_windowed",
    "run_draws",
]


@dataclass(frozen=True, eq=False)
class LatentDraws:
    """One latent of one network (its bottleneck, or a quantised skip) over N draws (CPU).

    Attributes:
        features: ``(N, D, *latent)`` float32 features (before quantisation).
        quantized: ``(N, D, *latent)`` quantised latents (quantised latents only), else ``None``.
        indices: ``(N, *latent)`` code indices (quantised only), else ``None``.
        clean_indices: ``(*latent)`` code indices of the clean image (quantised only).
        clean_features: ``(D, *latent)`` features of the clean image (draw 0 when no clean
            image was given).
    """

    features: torch.Tensor
    quantized: torch.Tensor | None = None
    indices: torch.Tensor | None = None
    clean_indices: torch.Tensor | None = None
    clean_features: torch.Tensor | None = None

    @property
    def quantised(self) -> bool:
        """Whether this latent is snapped to a codebook."""
        return self.indices is not None


@dataclass(frozen=True, eq=False)
class DrawOutputs:
    """What one network made of N draws of one image (all on the CPU).

    Attributes:
        labels: ``(M, *model_shape)`` uint8 argmax labels of the decoded draws (M = 1 when
            only draw 0 is decoded, N when all are).
        latents: latent name -> :class:`LatentDraws`, bottleneck first (empty for sliding
            windows and when latents were not asked for).

    ``features``, ``quantized``, ``indices``, ``clean_indices`` and ``clean_features`` are the
    bottleneck's (``None`` without latents).
    """

    labels: np.ndarray
    latents: dict[str, LatentDraws] = field(default_factory=dict)

    @property
    def has_latents(self) -> bool:
        """Whether latent maps are available (not for sliding-window inference)."""
        return bool(self.latents)

    def _bottleneck(self, name: str) -> torch.Tensor | None:
        latent = self.latents.get(BOTTLENECK)
        return None if latent is None else getattr(latent, name)

    @property
    def features(self) -> torch.Tensor | None:
        """The bottleneck's features over the draws."""
        return self._bottleneck("features")

    @property
    def quantized(self) -> torch.Tensor | None:
        """The bottleneck's quantised latents (VQ only)."""
        return self._bottleneck("quantized")

    @property
    def indices(self) -> torch.Tensor | None:
        """The bottleneck's code indices (VQ only)."""
        return self._bottleneck("indices")

    @property
    def clean_indices(self) -> torch.Tensor | None:
        """The bottleneck's code indices of the clean image (VQ only)."""
        return self._bottleneck("clean_indices")

    @property
    def clean_features(self) -> torch.Tensor | None:
        """The bottleneck's features of the clean image."""
        return self._bottleneck("clean_features")


def is_windowed(predictor: Predictor, model_shape: tuple[int, ...]) -> bool:
    """Whether ``predictor`` runs a sliding window (or slice by slice) on ``model_shape``."""
    return predictor.windowed(model_shape)


def has_quantizer(model: torch.nn.Module) -> bool:
    """Whether a network snaps any latent to a codebook (then the clean image's codes matter)."""
    from vqseg_core.models.quantizer import VectorQuantizer

    return any(isinstance(m, VectorQuantizer) for m in model.modules())


def has_latents(model: torch.nn.Module) -> bool:
    """Whether a network can report latents (``encode``): every network of the project can;
    your own model only when its YAML names a bottleneck (``model.has_latents``)."""
    return bool(getattr(model, "has_latents", True))


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
    clean_encoding: CleanEncoding | None = None,
) -> DrawOutputs:
    """Run one network over ``draws`` in batches.

    Labels: draw 0 is decoded alone, exactly as :meth:`ModelSet.predict` runs the clean image
    (so its labels equal the clean prediction at a corruption's identity level); with
    ``decode_all`` every draw is decoded, ``batch_size`` at a time, at the predictor's precision.

    Latents (``latents=True``): all draws are encoded ``batch_size`` at a time, the last batch
    padded to the same size, and the clean image when given (for the code-flip maps of
    quantised latents) on its own, always in **float32** (draws that are all identical, as at a corruption's
    identity level, are encoded once): bf16 rounding alone moves the features by about 1e-2
    (and differently at different batch positions), which would show up as latent variance and
    as spurious code flips. Identical inputs therefore give identical latents. Every latent of
    the network's encoding is kept (the bottleneck, and each quantised skip).

    For inputs larger than the predictor's patch size (3D sliding window), for volumes under
    a 2D network and for networks without latents (:func:`has_latents`) only labels are computed (slab by slab, :meth:`Predictor.predict_volume`).

    Args:
        predictor: the network on its device.
        draws: ``(N, C, *model_shape)`` float32 model-frame inputs.
        clean: ``(C, *model_shape)`` the uncorrupted input, or ``None`` when draw 0 is clean.
        decode_all: decode every draw (evaluation) instead of draw 0 only (live view).
        latents: compute the latents.
        batch_size: draws per forward pass.
        cancel: returns True to abort; checked before every batch.
        clean_encoding: the clean image's latents kept from an earlier run
            (:func:`encode_clean`), else they are computed.

    Raises:
        Cancelled: ``cancel()`` returned True.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
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
    if windowed or not latents or not has_latents(predictor.model):
        return DrawOutputs(label_arr)
    return DrawOutputs(
        label_arr, encode_draws(predictor, draws, clean, batch_size, cancel, clean_encoding)
    )


def encode_draws(
    predictor: Predictor,
    draws: np.ndarray,
    clean: np.ndarray | None,
    batch_size: int = 8,
    cancel: CancelFn | None = None,
    clean_encoding: CleanEncoding | None = None,
) -> dict[str, LatentDraws]:
    """Every latent of the draws (and of the clean image), in float32 (see :func:`run_draws`).

    The draws are encoded ``batch_size`` at a time (the last batch padded to the same size);
    the clean image on its own (:func:`encode_clean`), or taken from ``clean_encoding`` when
    the caller kept it (the clean image's latents do not depend on the corruption: the
    explorer encodes them once per image). A sample's float32 result does not depend on the
    other samples of its batch (checked bit for bit on the chest pair against the earlier
    layout, which appended the clean image to the draws' batches).
    """
    n = draws.shape[0]
    tensor = torch.from_numpy(np.ascontiguousarray(draws, dtype=np.float32))
    # identical draws (identity level, deterministic kinds) are encoded once: even float32
    # kernels differ in the last bits between batch positions, which is not latent variance
    same = all(np.array_equal(draws[0], draws[d]) for d in range(1, n))
    if same and clean is not None and np.array_equal(draws[0, None], np.asarray(clean)[None]):
        clean = None
    items = tensor[:1] if same else tensor
    size = min(batch_size, items.shape[0])
    parts: list[dict[str, tuple]] = []
    for start in range(0, items.shape[0], size):
        check_cancel(cancel)
        batch = items[start : start + size]
        real = batch.shape[0]
        if real < size:  # one batch shape throughout: the same kernels for every input
            batch = torch.cat([batch, batch[-1:].expand(size - real, *batch.shape[1:])])
        parts.append(_encode(predictor, batch, real))
    if clean is not None and clean_encoding is None:
        clean_encoding = encode_clean(predictor, clean, cancel)
    m = 1 if same else n  # encoded draws
    out: dict[str, LatentDraws] = {}
    for name in parts[0]:
        features = torch.cat([p[name][0] for p in parts])
        quantized = _cat([p[name][1] for p in parts])
        indices = _cat([p[name][2] for p in parts])
        clean_features, clean_indices = features[0], None if indices is None else indices[0]
        if clean is not None:
            assert clean_encoding is not None
            clean_features = clean_encoding[name][0][0]
            clean_indices = None if indices is None else clean_encoding[name][2][0]

        def draws_of(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t[:m].expand(n, *t.shape[1:]) if same else t[:n]

        out[name] = LatentDraws(
            draws_of(features),  # type: ignore[arg-type]
            draws_of(quantized),
            draws_of(indices),
            clean_indices,
            clean_features,
        )
    return out


def encode_clean(
    predictor: Predictor, clean: np.ndarray, cancel: CancelFn | None = None
) -> CleanEncoding:
    """Every latent of the clean image ``(C, *model_shape)``, in float32, in a batch of one:
    name -> ``(features, quantized, indices)``, each with a batch axis of 1 (on the CPU)."""
    check_cancel(cancel)
    return _encode(predictor, _as_batch(clean), 1)


def _cat(parts: list[torch.Tensor | None]) -> torch.Tensor | None:
    present = [p for p in parts if p is not None]
    return torch.cat(present) if present and len(present) == len(parts) else None


def _as_batch(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None]


def _argmax(logits: torch.Tensor) -> np.ndarray:
    return logits.argmax(1).numpy().astype(np.uint8)


def _encode(predictor: Predictor, x: torch.Tensor, keep: int) -> dict[str, tuple]:
    """Every latent of ``x`` in float32 on the CPU: name -> (features, quantized, indices)."""
    x = x.to(predictor.device).contiguous(memory_format=predictor.memory_format)
    with torch.inference_mode(), torch.autocast(predictor.device.type, enabled=False):
        enc = predictor.model.encode(x)

    def cpu(t: torch.Tensor | None) -> torch.Tensor | None:
        if t is None:
            return None
        t = t[:keep]
        return t.float().cpu() if t.is_floating_point() else t.cpu()

    latents = getattr(enc, "latents", None)
    if latents is None:  # an encoding without named latents: its bottleneck only
        return {BOTTLENECK: (cpu(enc.features), cpu(enc.quantized), cpu(enc.indices))}
    return {
        name: (cpu(lat.features), cpu(lat.quantized), cpu(lat.indices))
        for name, lat in latents.items()
    }
