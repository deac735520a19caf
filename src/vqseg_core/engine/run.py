"""Run a request: preprocess, corrupt, run every member over the same draws, map labels back.

One path for everything that corrupts an image and runs models on it: the explorer's live view
and sweep (:mod:`vqseg_core.robustness`) and ``vqseg-eval noise|latent|shift``
(:mod:`vqseg_core.evaluation`) are loops over :func:`execute`.

* Members that share a recipe share the preprocessed image and its draws (common random
  numbers: draw ``d`` uses seed ``seed + d`` for every member and every level).
* Labels of draw 0 (``decode="first"``) are computed exactly as :meth:`ModelSet.predict` runs
  the clean image; ``decode="all"`` decodes every draw.
* Latents (every latent of each member's encoding: bottleneck, quantised skips) are encoded in
  float32, with the clean image when the corruption is not the identity (code flips, relative
  variance).
* A volume under a 2D slice model or a windowed 3D network runs slab by slab with the ``focus``
  slice first: :func:`iter_execute` yields each member's labels as soon as that slice is final;
  a windowed 3D network whose exact focus slice needs most windows first yields a preview of it
  (:class:`PartialLabels` with ``preview``, from thin windows centred on it).
  A 2D slice model's latents are those of the focus slice alone; a windowed 3D network has none.
* Every member's labels are computed before any latents: a ``progressive`` run yields
  :class:`MasksReady` in between (the explorer shows masks and metrics while latents run).
* Work that no corruption changes (preprocessing, the clean image's latents and, at the
  identity level, labels) comes from an :class:`~vqseg_core.engine.memo.ImageMemo` when one is
  given: the same values, computed once per image.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import torch

from vqseg_core.data.resample import resize_image
from vqseg_core.engine.draws import (
    CleanEncoding,
    DrawOutputs,
    LatentDraws,
    check_cancel,
    encode_draws,
    has_latents,
    is_windowed,
    run_draws,
)
from vqseg_core.engine.frame import PreparedInput, make_draws, prepare, to_unit_frame
from vqseg_core.engine.geometry import latent_geometry
from vqseg_core.engine.memo import ImageMemo
from vqseg_core.engine.request import RunRequest
from vqseg_core.volume import PreviewDone, SlabDone, VolumeResult, resampled_index

Geometry = tuple[tuple[float, ...], tuple[float, ...]]


@dataclass(frozen=True, eq=False)
class ModelRun:
    """What one member made of the request's draws.

    Attributes:
        member: the :class:`~vqseg_core.modelset.Member`.
        labels: ``(M, *input_shape)`` uint8 labels on the input grid (M = 1 for
            ``decode="first"``, N for ``"all"``).
        latents: latent name -> :class:`~vqseg_core.engine.draws.LatentDraws` (bottleneck
            first; empty when latents were not asked for or are unavailable).
        geometry: latent name -> ``(scale, translate)`` on the input grid.
        prepared: the preprocessed image the member ran on.
    """

    member: Any
    labels: np.ndarray
    latents: dict[str, LatentDraws]
    geometry: dict[str, Geometry]
    prepared: PreparedInput


@dataclass(frozen=True, eq=False)
class PartialLabels:
    """One member's labels while the volume is still running (the focus slice is final, or
    previewed).

    Attributes:
        model: the member key.
        labels: ``(*input_shape)`` uint8 on the input grid; slices not yet final are 0.
        z_range: input-grid axial slices ``[start, stop)`` that are final (``preview``: that
            hold the preview).
        preview: ``z_range`` holds a preview of the focus slice from thin windows centred on it
            (:class:`~vqseg_core.volume.PreviewDone`), not the exact labels: later labels of
            the same member replace it.
    """

    model: str
    labels: np.ndarray
    z_range: tuple[int, int]
    preview: bool = False


@dataclass(frozen=True, eq=False)
class MasksReady:
    """Every member's labels are final; the latents follow (:func:`iter_execute` with
    ``progressive``).

    Attributes:
        run: the :class:`Run` without latents (each member's ``latents`` empty).
    """

    run: Run


@dataclass(frozen=True, eq=False)
class Run:
    """Every member on the request's draws.

    Attributes:
        request: the :class:`RunRequest`.
        models: member key -> :class:`ModelRun`, in the request's order.
        draws: the first member's draws ``(N, 1, *model_shape)`` in its model frame.
        latent_slice: the input-grid axial slice the latents belong to (a 2D slice model on a
            volume), ``None`` when they cover the image.
        latent_note: one line for the user about the latents (``""`` when they cover the image).
    """

    request: RunRequest
    models: dict[str, ModelRun]
    draws: np.ndarray
    latent_slice: int | None = None
    latent_note: str = ""
    _first: PreparedInput | None = field(default=None, repr=False)

    @property
    def keys(self) -> tuple[str, ...]:
        """Member keys in order."""
        return tuple(self.models)

    @property
    def n_draws(self) -> int:
        """Number of draws."""
        return int(self.draws.shape[0])

    @property
    def latents_available(self) -> bool:
        """Whether every member has latents (not for sliding windows or without a focus)."""
        return all(mr.latents for mr in self.models.values())

    @cached_property
    def corrupted(self) -> np.ndarray:
        """Draw 0 in the [0, 1] corruption frame, resized onto the input grid (float32)."""
        prepared = self._first or next(iter(self.models.values())).prepared
        shape = tuple(prepared.context.original_shape)
        shown = resize_image(to_unit_frame(prepared, self.draws[0, 0]), shape, antialias=True)
        return np.clip(shown, 0.0, 1.0).astype(np.float32)


def execute(request: RunRequest, cancel: Any = None, memo: ImageMemo | None = None) -> Run:
    """Run ``request`` to the end (see :func:`iter_execute`)."""
    steps = iter_execute(request, cancel, memo, preview=False)  # nobody sees a preview here
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value


def iter_execute(
    request: RunRequest,
    cancel: Any = None,
    memo: ImageMemo | None = None,
    progressive: bool = False,
    preview: bool = True,
) -> Generator[PartialLabels | MasksReady, None, Run]:
    """:func:`execute` as a generator: yields each member's :class:`PartialLabels` once the
    focus slice of a slab-wise volume is final (every member's focus slabs run before the
    rest), and returns the :class:`Run`. Nothing else is yielded unless ``progressive``.

    Every member's labels are computed before any latents; with ``progressive`` a
    :class:`MasksReady` (the run without latents) is yielded between the two when there are
    latents to compute, so that masks and metrics can be shown while they run. The returned
    run is the same either way.

    Args:
        request: what to run.
        cancel: returns True to abort; polled between batches (not part of the request: it is
            how the caller stops it, not what it computes).
        memo: the corruption-independent work on this image kept from earlier runs
            (:class:`~vqseg_core.engine.memo.ImageMemo`: preprocessing, the clean image's
            latents and labels), else computed; the run is the same either way.
        progressive: yield :class:`MasksReady` once every member's labels are final.
        preview: a windowed 3D network whose exact focus slice needs most windows first yields
            a preview :class:`PartialLabels` of it (``preview=True``) from thin windows centred
            on the focus; the returned run is the same either way.

    Raises:
        Cancelled: ``cancel()`` returned True.
        ValueError: ``memo`` is for another image or spacing.
    """
    models, corruption = request.models, request.corruption
    check_cancel(cancel)
    if memo is not None and not memo.matches(memo.image, request.spacing):
        raise ValueError("the memo was made for another spacing than the request's")
    members = [models.member(k) for k in request.member_keys]
    prepared: dict[str, PreparedInput] = {}
    draws: dict[str, np.ndarray] = {}
    groups: list[tuple[Any, PreparedInput, np.ndarray]] = []
    for m in members:  # members that share a recipe share the image and the draws
        for recipe, p, d in groups:
            if recipe == m.recipe:
                prepared[m.key], draws[m.key] = p, d
                break
        else:
            p = (memo.prepared(m.recipe, request.image) if memo is not None
                 else prepare(m.recipe, request.image, request.spacing))  # fmt: skip
            d = make_draws(p, corruption, request.n_draws)
            groups.append((m.recipe, p, d))
            prepared[m.key], draws[m.key] = p, d
    predictors = {m.key: models.predictor(m.key, request.device, request.precision) for m in members}
    slab_wise = [
        m.key for m in members
        if request.image.ndim == 3 and request.decode == "first"
        and is_windowed(predictors[m.key], prepared[m.key].model_shape)
    ]  # fmt: skip
    volume_labels: dict[str, np.ndarray] = {}
    if slab_wise:
        volume_labels = yield from _volumes(request, slab_wise, prepared, draws, predictors, cancel,
                                            preview)  # fmt: skip
    labels: dict[str, np.ndarray] = {}
    for m in members:  # every member's labels first
        if m.key in volume_labels:
            p = prepared[m.key]
            inverted = m.recipe.invert_labels(volume_labels[m.key], p.context)
            labels[m.key] = inverted.astype(np.uint8)[None]
        else:
            labels[m.key] = _labels(request, m, predictors[m.key], prepared[m.key], draws[m.key],
                                    memo, cancel)  # fmt: skip
    first = prepared[members[0].key]
    if progressive and _latent_work(request, members, predictors, prepared, volume_labels):
        runs = {m.key: ModelRun(m, labels[m.key], {}, {}, prepared[m.key]) for m in members}
        yield MasksReady(Run(request, runs, draws[members[0].key], None, "", first))
    clean_for_latents = request.latents and not corruption.is_identity
    runs = {}
    latent_slice, note = None, ""
    for m in members:
        p, d, predictor = prepared[m.key], draws[m.key], predictors[m.key]
        clean = p.x if clean_for_latents else None
        if m.key not in volume_labels:
            latents = {}
            if request.latents:
                kept = None
                if clean is not None and memo is not None and has_latents(predictor.model):
                    kept = memo.clean_encoding(m, predictor, clean, None, cancel)
                latents = latents_of(predictor, d, clean, request.batch_size, cancel, kept)
            runs[m.key] = _model_run(m, DrawOutputs(labels[m.key], latents), p)
            continue
        latents, geometry = {}, {}
        if m.model_dims == 2 and request.focus is not None and request.latents:
            fm = model_slice(p, request.focus)
            clean_slice = None if clean is None else clean[..., fm]
            kept = None
            if clean_slice is not None and memo is not None and has_latents(predictor.model):
                kept = memo.clean_encoding(m, predictor, clean_slice, fm, cancel)
            sl = latents_of(predictor, np.ascontiguousarray(d[..., fm]), clean_slice,
                            request.batch_size, cancel, kept)  # fmt: skip
            z_in = int(request.focus)
            for name, lat in sl.items():
                latents[name] = _with_z(lat)
                s, t = latent_geometry(m.model, p.model_shape[:2], p.context.original_shape[:2],
                                       tuple(lat.features.shape[2:]))  # fmt: skip
                geometry[name] = ((*s, 1.0), (*t, float(z_in)))
            latent_slice = z_in
            note = (f"Latent maps: axial slice {z_in} only (2D slice model; the slice on screen "
                    "when the run started).")  # fmt: skip
        elif m.model_dims == 2:
            note = note or "No latent maps: no displayed slice was given."
        else:
            note = (f"No latent maps: the 3D network runs through a sliding window (patch "
                    f"{m.patch_size}) on this volume.")  # fmt: skip
        runs[m.key] = ModelRun(m, labels[m.key], latents, geometry, p)
    silent = [m.name for m in members if request.latents and not has_latents(m.model)]
    if silent:  # your own models without a named bottleneck: masks and metrics only
        note = " ".join([note, f"No latent maps for {', '.join(silent)}: its model YAML names "
                         "no bottleneck (masks and metrics only)."]).strip()  # fmt: skip
    return Run(request, runs, draws[members[0].key], latent_slice, note, first)


def _latent_work(
    request: RunRequest,
    members: list[Any],
    predictors: dict[str, Any],
    prepared: dict[str, PreparedInput],
    volume_labels: dict[str, np.ndarray],
) -> bool:
    """Whether any member has latents to compute after its labels."""
    if not request.latents:
        return False
    for m in members:
        if not has_latents(m.model):
            continue
        if m.key in volume_labels:
            if m.model_dims == 2 and request.focus is not None:
                return True
        elif not is_windowed(predictors[m.key], prepared[m.key].model_shape):
            return True
    return False


def _labels(
    request: RunRequest,
    member: Any,
    predictor: Any,
    prepared: PreparedInput,
    draws: np.ndarray,
    memo: ImageMemo | None,
    cancel: Any,
) -> np.ndarray:
    """One member's decoded draws on the input grid (the clean image's from the memo at the
    corruption's identity level)."""
    p = prepared

    def decode() -> np.ndarray:
        out = run_draws(predictor, draws, decode_all=request.decode == "all", latents=False,
                        batch_size=request.batch_size, cancel=cancel)  # fmt: skip
        return np.stack([
            member.recipe.invert_labels(lab, p.context).astype(np.uint8) for lab in out.labels
        ])  # fmt: skip

    if memo is not None and request.decode == "first" and request.corruption.is_identity:
        return memo.clean_labels(member, predictor, decode)
    return decode()


def latents_of(
    predictor: Any,
    draws: np.ndarray,
    clean: np.ndarray | None,
    batch_size: int = 8,
    cancel: Any = None,
    clean_encoding: CleanEncoding | None = None,
) -> dict[str, LatentDraws]:
    """The latents of one network over the draws (encoder only, float32; see
    :func:`~vqseg_core.engine.draws.encode_draws`); empty for a sliding window and for
    networks without latents."""
    if is_windowed(predictor, tuple(draws.shape[2:])) or not has_latents(predictor.model):
        return {}
    return encode_draws(predictor, draws, clean, batch_size, cancel, clean_encoding)


def _volumes(
    request: RunRequest,
    keys: list[str],
    prepared: dict[str, PreparedInput],
    draws: dict[str, np.ndarray],
    predictors: dict[str, Any],
    cancel: Any,
    preview: bool = True,
) -> Generator[PartialLabels, None, dict[str, np.ndarray]]:
    """Model-grid labels of draw 0 for slab-wise members, every member's first step (a preview
    of the focus slice, or its focus slabs) first; then each member runs to the end in turn. A
    previewed member's exact focus slabs are yielded too when they come before its last step."""
    gens = {}
    for key in keys:
        fm = None if request.focus is None else model_slice(prepared[key], request.focus)
        x = torch.from_numpy(np.ascontiguousarray(draws[key][:1]))
        gens[key] = predictors[key].iter_volume(x, focus=fm, cancel=cancel, preview=preview)
    labels: dict[str, np.ndarray] = {}
    previewed: set[str] = set()
    for key, gen in gens.items():  # every member's preview or focus slabs first
        step = _next(gen)
        if isinstance(step, VolumeResult):
            labels[key] = step.labels
            continue
        if isinstance(step, PreviewDone):
            previewed.add(key)
        yield _partial(request, prepared[key], key, step)
    for key, gen in gens.items():
        while key not in labels:
            step = _next(gen)
            if isinstance(step, VolumeResult):
                labels[key] = step.labels
            elif key in previewed and not isinstance(step, PreviewDone):
                previewed.discard(key)  # its first exact slabs, unless they are the whole volume
                if (step.z_start, step.z_stop) != (0, prepared[key].model_shape[-1]):
                    yield _partial(request, prepared[key], key, step)
    return labels


def _partial(request: RunRequest, p: PreparedInput, key: str, step: SlabDone) -> PartialLabels:
    """One member's :class:`PartialLabels` of a volume step (on the input grid)."""
    recipe = request.models.member(key).recipe
    full = recipe.invert_labels(step.labels, p.context).astype(np.uint8)
    return PartialLabels(key, full, input_range(p, step.z_start, step.z_stop),
                         isinstance(step, PreviewDone))  # fmt: skip


def _model_run(member: Any, out: DrawOutputs, p: PreparedInput) -> ModelRun:
    """``out``'s labels are on the input grid already."""
    labels = out.labels
    geometry: dict[str, Geometry] = {}
    if member.model_dims == len(p.model_shape):
        for name, lat in out.latents.items():
            geometry[name] = latent_geometry(member.model, p.model_shape,
                                             p.context.original_shape, tuple(lat.features.shape[2:]))  # fmt: skip
    return ModelRun(member, labels, dict(out.latents), geometry, p)


def model_slice(prepared: PreparedInput, z: int) -> int:
    """The model-grid axial slice nearest to input-grid slice ``z`` (the recipe's resampling)."""
    return resampled_index(z, prepared.context.original_shape[-1], prepared.model_shape[-1])


def input_range(prepared: PreparedInput, z0: int, z1: int) -> tuple[int, int]:
    """The input-grid axial slices ``[start, stop)`` covered by model-grid slices ``z0:z1``."""
    n_in, n_model = prepared.context.original_shape[-1], prepared.model_shape[-1]
    lo = int(np.ceil((z0 + 0.5) * n_in / n_model - 0.5))
    hi = int(np.floor((z1 - 0.5) * n_in / n_model - 0.5)) + 1
    return max(lo, 0), min(max(hi, lo), n_in)


def _next(run: Generator[SlabDone, None, VolumeResult]) -> SlabDone | VolumeResult:
    try:
        return next(run)
    except StopIteration as stop:
        return stop.value


def _with_z(lat: LatentDraws) -> LatentDraws:
    """A 2D slice's latents with a trailing axial axis of 1."""

    def z(t: torch.Tensor | None) -> torch.Tensor | None:
        return None if t is None else t[..., None]

    return LatentDraws(z(lat.features), z(lat.quantized), z(lat.indices),  # type: ignore[arg-type]
                       z(lat.clean_indices), z(lat.clean_features))  # fmt: skip
