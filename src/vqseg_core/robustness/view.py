"""One image, one corruption, both models: what the plugin's live view shows.

:func:`analyse` preprocesses an image with a pair's recipe, corrupts it ``n_draws`` times
(draw ``d`` with seed ``seed + d``, the same inputs for both models and at every level),
runs both networks over the draws in batches and returns a :class:`RobustnessView`: label
maps of draw 0 on the input's own grid, their disagreement, latent-variance and code-flip
maps on the latent grid, and (with a ground truth) Dice and HD95 per class.

Volumes under a 2D slice model or a windowed 3D network run slab by slab with the ``focus``
slice (the one on screen) first: :func:`iter_analyse` yields each model's labels as soon as the
focus slice is final. A 2D slice model's latent maps are those of the focus slice alone (a 2D
problem), placed at that slice; a windowed 3D network has none (``latent_note`` says why).
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from vqseg_core.analysis.latent import code_flip_map, latent_variance
from vqseg_core.data.resample import resize_image
from vqseg_core.metrics import dice_per_class, hd95_per_class
from vqseg_core.perturb import Corruption
from vqseg_core.robustness.frame import PreparedInput, make_draws, prepare, to_unit_frame
from vqseg_core.robustness.runner import (
    CancelFn,
    DrawOutputs,
    check_cancel,
    is_windowed,
    run_draws,
)
from vqseg_core.volume import SlabDone, VolumeResult, resampled_index

MODEL_KEYS = ("unet", "vqunet")


@dataclass(frozen=True)
class ModelView:
    """What one network made of the corrupted image.

    Attributes:
        labels: ``(*input_shape)`` uint8 labels of draw 0 on the input's own grid.
        latent_variance: ``(*latent)`` mean over the D channels of the per-element
            (population) variance of the raw bottleneck features across the draws; ``None``
            when ``n_draws < 2`` or latents are unavailable (3D sliding window).
        indices: ``(*latent)`` code indices of draw 0 (VQ model only), else ``None``.
        flip_map: ``(*latent)`` fraction in [0, 1] of the draws whose code differs from the
            clean image's code (VQ model only), else ``None``.
        flip_rate: mean of ``flip_map`` (VQ model only), else ``None``.
        scores: ``{class name: {"dice": ..., "hd95": ...}}`` of draw 0 against the ground truth,
            HD95 in mm on the input grid (``nan`` when undefined, see :mod:`vqseg_core.metrics`);
            ``None`` without a ground truth.
        quantized_variance: like ``latent_variance`` for the quantised latents (VQ only).
    """

    labels: np.ndarray
    latent_variance: np.ndarray | None
    indices: np.ndarray | None
    flip_map: np.ndarray | None
    flip_rate: float | None
    scores: dict[str, dict[str, float]] | None
    quantized_variance: np.ndarray | None = None

    @property
    def mean_latent_variance(self) -> float | None:
        """Mean of ``latent_variance`` (``None`` when it is ``None``)."""
        return None if self.latent_variance is None else float(self.latent_variance.mean())


@dataclass(frozen=True)
class RobustnessView:
    """Both networks on one corrupted image.

    Attributes:
        corrupted: draw 0 in the **[0, 1] corruption frame**, resized (linearly) from the model
            grid back onto the input's grid, float32 ``(*input_shape)``. (For recipes whose model
            frame is [0, 1] — chest, CT, brain — this is the model input itself.)
        models: ``{"unet": ModelView, "vqunet": ModelView}``.
        disagreement: ``(*input_shape)`` bool, where the two label maps differ.
        corruption: the corruption of draw 0 (its seed is ``seed``; draw d used ``seed + d``).
        latent_scale: input-grid pixels per latent cell along each axis (napari ``scale`` for
            latent maps shown over the image).
        latent_translate: input-grid coordinate of the centre of latent cell 0 along each axis
            (napari ``translate``; accounts for the padding to a multiple of the downsampling).
        n_draws: number of draws.
        latents_available: ``False`` for 3D inputs run through a sliding window, and for
            volumes under a 2D slice model without a ``focus`` (latent maps are then all ``None``).
        latent_slice: the input-grid axial slice the latent maps belong to (a 2D slice model on
            a volume: maps ``(h, w, 1)`` placed at that slice), ``None`` when they cover the image.
        latent_note: one line for the user about the latent maps ("" when they cover the image).
    """

    corrupted: np.ndarray
    models: dict[str, ModelView]
    disagreement: np.ndarray
    corruption: Corruption
    latent_scale: tuple[float, ...]
    latent_translate: tuple[float, ...] = ()
    n_draws: int = 1
    latents_available: bool = True
    latent_slice: int | None = None
    latent_note: str = ""


@dataclass(frozen=True)
class PartialLabels:
    """One model's labels while the volume is still running (the focus slice is final).

    Attributes:
        model: ``"unet"`` or ``"vqunet"``.
        labels: ``(*input_shape)`` uint8 on the input grid; slices not yet final are 0.
        z_range: input-grid axial slices ``[start, stop)`` that are final.
    """

    model: str
    labels: np.ndarray
    z_range: tuple[int, int]


def analyse(
    pair,
    array: np.ndarray,
    spacing: Sequence[float] | None = None,
    *,
    kind: str = "gaussian",
    level: float = 0.0,
    seed: int = 0,
    n_draws: int = 1,
    ground_truth: np.ndarray | None = None,
    device: str = "auto",
    precision: str = "auto",
    cancel: CancelFn | None = None,
    batch_size: int = 8,
    focus: int | None = None,
) -> RobustnessView:
    """Corrupt an image and show what both networks of a pair make of it.

    Args:
        pair: a :class:`~vqseg_core.pretrained.ModelPair`.
        array: raw image ``(H, W)`` or ``(X, Y, Z)`` as :func:`vqseg_core.io.load_image` gives it.
        spacing: mm per axis (default 1 mm); used by the recipe, by spacing-aware corruptions
            (on the model grid) and for HD95.
        kind: corruption kind (see :data:`vqseg_core.perturb.REGISTRY`).
        level: its strength in the kind's units (% of the [0, 1] range for the paper's three).
        seed: seed of draw 0; draw d uses ``seed + d``.
        n_draws: number of corrupted draws (latent variance and flip maps need >= 2 to be
            informative; labels and scores are those of draw 0).
        ground_truth: labels on the input grid (same shape as ``array``) to score against.
        device, precision: see :class:`~vqseg_core.inference.Predictor`.
        cancel: a callable returning True to abort; checked between batches.
        batch_size: draws per forward pass.
        focus: for volumes, the input-grid axial slice (last axis) to finish first; a 2D slice
            model's latent maps are computed on this slice (see :func:`iter_analyse`).

    Returns:
        :class:`RobustnessView`. For 3D inputs larger than the pair's patch size the labels
        come from sliding-window inference and every latent map is ``None``.

    Raises:
        ValueError: bad kind, level, seed, n_draws, or a ground truth of the wrong shape.
        Cancelled: ``cancel()`` returned True.
    """
    steps = iter_analyse(pair, array, spacing, kind=kind, level=level, seed=seed,
                         n_draws=n_draws, ground_truth=ground_truth, device=device,
                         precision=precision, cancel=cancel, batch_size=batch_size, focus=focus)  # fmt: skip
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value


def iter_analyse(
    pair,
    array: np.ndarray,
    spacing: Sequence[float] | None = None,
    *,
    kind: str = "gaussian",
    level: float = 0.0,
    seed: int = 0,
    n_draws: int = 1,
    ground_truth: np.ndarray | None = None,
    device: str = "auto",
    precision: str = "auto",
    cancel: CancelFn | None = None,
    batch_size: int = 8,
    focus: int | None = None,
) -> Generator[PartialLabels, None, RobustnessView]:
    """:func:`analyse` as a generator: yields each model's :class:`PartialLabels` once the focus
    slice of a slab-wise volume is final (both models' focus slabs run before the rest), and
    returns the :class:`RobustnessView`. Nothing is yielded for images run in one pass."""
    corruption = Corruption(kind, level, seed)
    if n_draws < 1:
        raise ValueError(f"n_draws must be >= 1, got {n_draws}")
    array = np.asarray(array)
    gt = _check_ground_truth(ground_truth, array.shape)
    check_cancel(cancel)
    prepared = prepare(pair, array, spacing)
    draws = make_draws(prepared, corruption, n_draws)
    spacing_mm = tuple(spacing) if spacing is not None else (1.0,) * array.ndim
    predictors = {key: pair.predictor(key, device, precision) for key in MODEL_KEYS}
    volume = array.ndim == 3 and all(
        is_windowed(p, prepared.model_shape) for p in predictors.values()
    )
    if not volume:
        outputs = {}
        for key, predictor in predictors.items():
            clean = None if corruption.is_identity else prepared.x
            needs_clean = clean is not None and hasattr(predictor.model, "quantizer")
            outputs[key] = run_draws(predictor, draws, clean if needs_clean else None,
                                     batch_size=batch_size, cancel=cancel)  # fmt: skip
        return build_view(pair, prepared, draws, outputs, corruption, gt, spacing_mm)
    fm = None if focus is None else model_slice(prepared, focus)
    x = torch.from_numpy(np.ascontiguousarray(draws[:1]))
    runs = {k: p.iter_volume(x, focus=fm, cancel=cancel) for k, p in predictors.items()}
    labels = {}
    for key, run in runs.items():  # both models' focus slabs first
        step = _next(run)
        if isinstance(step, VolumeResult):
            labels[key] = step.labels
            continue
        full = pair.recipe.invert_labels(step.labels, prepared.context).astype(np.uint8)
        yield PartialLabels(key, full, _input_range(prepared, step.z_start, step.z_stop))
    for key, run in runs.items():
        while key not in labels:
            step = _next(run)
            if isinstance(step, VolumeResult):
                labels[key] = step.labels
    outputs = {}
    two_d = pair.models["vqunet"].spatial_dims == 2
    for key, predictor in predictors.items():
        out = DrawOutputs(labels[key][None], None, None, None, None)
        if two_d and fm is not None:
            clean = None if corruption.is_identity else prepared.x[..., fm]
            needs_clean = clean is not None and hasattr(predictor.model, "quantizer")
            sl = run_draws(predictor, np.ascontiguousarray(draws[..., fm]),
                           clean if needs_clean else None, batch_size=batch_size, cancel=cancel)  # fmt: skip
            out = DrawOutputs(out.labels, _z(sl.features), _z(sl.quantized), _z(sl.indices),
                              _z(sl.clean_indices), _z(sl.clean_features))  # fmt: skip
        outputs[key] = out
    view = build_view(pair, prepared, draws, outputs, corruption, gt, spacing_mm)
    if not two_d:
        return replace(view, latent_note="No latent maps: the 3D network runs through a sliding "
                       f"window (patch {pair.patch_size}) on this volume.")  # fmt: skip
    if fm is None:
        return replace(view, latent_note="No latent maps: no displayed slice was given.")
    z_in = int(focus) if focus is not None else 0
    scale, translate = latent_geometry_2d(pair, prepared)
    return replace(view, latent_scale=(*scale, 1.0), latent_translate=(*translate, float(z_in)),
                   latent_slice=z_in, latent_note=f"Latent maps: axial slice {z_in} only "
                   "(2D slice model; the slice on screen when the run started).")  # fmt: skip


def model_slice(prepared: PreparedInput, z: int) -> int:
    """The model-grid axial slice nearest to input-grid slice ``z`` (the recipe's resampling)."""
    return resampled_index(z, prepared.context.original_shape[-1], prepared.model_shape[-1])


def _input_range(prepared: PreparedInput, z0: int, z1: int) -> tuple[int, int]:
    n_in, n_model = prepared.context.original_shape[-1], prepared.model_shape[-1]
    lo = int(np.ceil((z0 + 0.5) * n_in / n_model - 0.5))
    hi = int(np.floor((z1 - 0.5) * n_in / n_model - 0.5)) + 1
    return max(lo, 0), min(max(hi, lo), n_in)


def _next(run: Generator[SlabDone, None, VolumeResult]) -> SlabDone | VolumeResult:
    try:
        return next(run)
    except StopIteration as stop:
        return stop.value


def _z(t: torch.Tensor | None) -> torch.Tensor | None:
    """A 2D slice's latents with a trailing axial axis of 1."""
    return None if t is None else t[..., None]


def latent_geometry_2d(
    pair, prepared: PreparedInput
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """``(scale, translate)`` in-plane of a 2D slice model's latent grid on the input grid."""
    model = pair.models["vqunet"]
    factor = int(model.factor)
    plane = prepared.model_shape[:2]
    padded = model.padded_shape(plane)
    scale, translate = [], []
    for n_in, n_model, n_pad in zip(
        prepared.context.original_shape[:2], plane, padded, strict=True
    ):
        s = n_in / n_model
        before = (n_pad - n_model) // 2
        scale.append(factor * s)
        translate.append((factor / 2 - before) * s - 0.5)
    return tuple(scale), tuple(translate)


def build_view(
    pair,
    prepared: PreparedInput,
    draws: np.ndarray,
    outputs: Mapping[str, DrawOutputs],
    corruption: Corruption,
    ground_truth: np.ndarray | None,
    spacing: tuple[float, ...],
) -> RobustnessView:
    """Assemble a :class:`RobustnessView` from the networks' outputs (used by :func:`analyse`)."""
    views = {}
    for key, out in outputs.items():
        labels = pair.recipe.invert_labels(out.labels[0], prepared.context).astype(np.uint8)
        flips = _flip_map(out)
        views[key] = ModelView(
            labels=labels,
            latent_variance=_mean_variance(out.features),
            indices=None if out.indices is None else out.indices[0].numpy(),
            flip_map=flips,
            flip_rate=None if flips is None else float(flips.mean()),
            scores=None
            if ground_truth is None
            else score_labels(labels, ground_truth, pair.classes, spacing),
            quantized_variance=_mean_variance(out.quantized),
        )
    shape = tuple(prepared.context.original_shape)
    shown = resize_image(to_unit_frame(prepared, draws[0, 0]), shape, antialias=True)
    scale, translate = latent_geometry(pair, prepared)
    return RobustnessView(
        corrupted=np.clip(shown, 0.0, 1.0).astype(np.float32),
        models=views,
        disagreement=views["unet"].labels != views["vqunet"].labels,
        corruption=corruption,
        latent_scale=scale,
        latent_translate=translate,
        n_draws=int(draws.shape[0]),
        latents_available=all(o.has_latents for o in outputs.values()),
    )


def score_labels(
    labels: np.ndarray,
    ground_truth: np.ndarray,
    classes: Mapping[int, str],
    spacing: Sequence[float],
) -> dict[str, dict[str, float]]:
    """Dice and HD95 (mm) of each class of ``classes`` that the ground truth annotates.

    A class absent from the whole ground truth (e.g. heart, for a lungs-only mask) is not
    scored: such a mask cannot tell a right prediction of that class from a wrong one.
    """
    present = set(np.unique(ground_truth).tolist())
    values = [v for v in classes if v in present]
    dice = dice_per_class(labels, ground_truth, values)
    hd = hd95_per_class(labels, ground_truth, tuple(spacing), values)
    return {classes[v]: {"dice": float(dice[v]), "hd95": float(hd[v])} for v in values}


def latent_geometry(pair, prepared: PreparedInput) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """``(scale, translate)`` of the latent grid in input-grid pixel coordinates."""
    if pair.models["vqunet"].spatial_dims != len(prepared.model_shape):  # slice by slice
        n = len(prepared.model_shape)
        return (1.0,) * n, (0.0,) * n
    model = pair.models["vqunet"]
    factor = int(model.factor)
    padded = model.padded_shape(prepared.model_shape)
    scale, translate = [], []
    for n_in, n_model, n_pad in zip(
        prepared.context.original_shape, prepared.model_shape, padded, strict=True
    ):
        s = n_in / n_model  # input pixels per model pixel
        before = (n_pad - n_model) // 2
        scale.append(factor * s)
        translate.append((factor / 2 - before) * s - 0.5)
    return tuple(scale), tuple(translate)


def _mean_variance(latents) -> np.ndarray | None:
    if latents is None or latents.shape[0] < 2:
        return None
    return latent_variance(latents).mean(dim=0).numpy()


def _flip_map(out: DrawOutputs) -> np.ndarray | None:
    if out.indices is None or out.clean_indices is None:
        return None
    return code_flip_map(out.indices, out.clean_indices).numpy()


def _check_ground_truth(gt: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    if gt is None:
        return None
    gt = np.asarray(gt)
    if gt.shape != shape:
        raise ValueError(f"ground truth shape {gt.shape} differs from the image shape {shape}")
    return np.rint(gt).astype(np.int64) if np.issubdtype(gt.dtype, np.floating) else gt
