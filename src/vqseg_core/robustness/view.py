"""One image, one corruption, every model of a set: what the plugin's live view shows.

:func:`analyse` is a run of the engine (:func:`vqseg_core.engine.execute`) turned into a
:class:`RobustnessView`: label maps of draw 0 on the input's own grid, each model's
disagreement with the reference model, latent-variance and code-flip maps of every latent
(bottleneck first, then quantised skips) on its own grid, and (with a ground truth) Dice and
HD95 per class (:mod:`vqseg_core.engine.score`). Without a ground truth the view still
answers: each model's class sizes (area or volume, in the image's units) and, after
:func:`with_clean_labels`, how far its mask moved from its own mask of the clean image.

Volumes under a 2D slice model or a windowed 3D network run slab by slab with the ``focus``
slice (the one on screen) first: :func:`iter_analyse` yields each model's labels as soon as the
focus slice is final. A 2D slice model's latent maps are those of the focus slice alone (a 2D
problem), placed at that slice; a windowed 3D network has none (``latent_note`` says why).
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from vqseg_core import engine
from vqseg_core.analysis.latent import code_flip_map, code_flip_rate, latent_variance
from vqseg_core.engine import (
    BOTTLENECK,
    ImageMemo,
    LatentDraws,
    MasksReady,
    PartialLabels,
    Run,
    RunRequest,
    check_ground_truth,
    named,
    score_labels,
)
from vqseg_core.engine.score import class_sizes, mask_agreement, size_units
from vqseg_core.perturb import Corruption

__all__ = ["LatentView", "ModelView", "PartialLabels", "RobustnessView", "analyse",
           "iter_analyse", "iter_view", "iter_view_and_run", "masks_view", "score_labels", "view_of",
           "with_clean_labels", "with_latents"]  # fmt: skip


@dataclass(frozen=True, eq=False)
class LatentView:
    """One latent of one model (its bottleneck, or a quantised skip) over the draws.

    Attributes:
        variance: ``(*latent)`` mean over channels of the per-element (population) variance
            of the features across draws; ``None`` when ``n_draws < 2``.
        quantized_variance: the same for the quantised latent (quantised latents only).
        indices: ``(*latent)`` code indices of draw 0 (quantised only), else ``None``.
        flip_map: ``(*latent)`` fraction of draws whose code differs from the clean image's
            (quantised only), else ``None``.
        flip_rate: mean of ``flip_map`` (quantised only), else ``None``.
        scale: input-grid pixels per latent cell along each axis (napari ``scale``).
        translate: input-grid coordinate of the centre of latent cell 0 (napari ``translate``).
    """

    variance: np.ndarray | None
    quantized_variance: np.ndarray | None
    indices: np.ndarray | None
    flip_map: np.ndarray | None
    flip_rate: float | None
    scale: tuple[float, ...]
    translate: tuple[float, ...]

    @property
    def quantised(self) -> bool:
        """Whether this latent is snapped to a codebook."""
        return self.indices is not None


@dataclass(frozen=True, eq=False)
class ModelView:
    """What one model made of the corrupted image.

    Attributes:
        labels: ``(*input_shape)`` uint8 labels of draw 0 on the input's own grid.
        latent_variance, quantized_variance, indices, flip_map, flip_rate: the bottleneck's
            (see :class:`LatentView`; ``None`` when unavailable or not quantised).
        scores: ``{class name: {"dice": ..., "hd95": ...}}`` of draw 0 against the ground truth
            for the classes it annotates (HD95 in ``RobustnessView.hd95_units``; ``nan`` when
            undefined); ``None`` without a ground truth.
        name: display name; ``colour``: hex colour; ``kind``: model kind.
        latents: latent name -> :class:`LatentView`, bottleneck first.
        disagreement: ``(*input_shape)`` bool, where its labels differ from the reference
            model's (``None`` for the reference itself).
        sizes: ``{class name: size}`` of ``labels`` for every class of the model (area or
            volume in ``RobustnessView.size_units``; no ground truth needed).
        clean_labels: ``(*input_shape)`` uint8, the model's labels of the clean image (the
            image's memo keeps them); ``None`` until :func:`with_clean_labels` adds them.
    """

    labels: np.ndarray
    latent_variance: np.ndarray | None
    indices: np.ndarray | None
    flip_map: np.ndarray | None
    flip_rate: float | None
    scores: dict[str, dict[str, float]] | None
    quantized_variance: np.ndarray | None = None
    name: str = ""
    colour: str = ""
    kind: str = ""
    latents: dict[str, LatentView] = field(default_factory=dict)
    disagreement: np.ndarray | None = None
    sizes: dict[str, float] = field(default_factory=dict)
    clean_labels: np.ndarray | None = None

    @property
    def clean_agreement(self) -> float | None:
        """Mean Dice of ``labels`` against ``clean_labels`` over the classes either has (1.0:
        the corruption left the mask as it was); ``None`` without ``clean_labels``."""
        return None if self.clean_labels is None else mask_agreement(self.labels, self.clean_labels)

    @property
    def mean_latent_variance(self) -> float | None:
        """Mean of ``latent_variance`` (``None`` when it is ``None``)."""
        return None if self.latent_variance is None else float(self.latent_variance.mean())


@dataclass(frozen=True, eq=False)
class RobustnessView:
    """Every model of a set on one corrupted image.

    Attributes:
        corrupted: draw 0 in the **[0, 1] corruption frame**, resized (linearly) from the first
            model's grid back onto the input's grid, float32 ``(*input_shape)``.
        models: member key -> :class:`ModelView`, in the set's order.
        disagreement: ``(*input_shape)`` bool, where any model differs from the reference (for
            two models: where they differ).
        corruption: the corruption of draw 0 (draw d used ``seed + d``).
        latent_scale, latent_translate: the first model's bottleneck geometry (see
            :class:`LatentView`; each latent carries its own).
        n_draws: number of draws.
        latents_available: ``False`` for 3D inputs run through a sliding window, and for
            volumes under a 2D slice model without a ``focus``.
        latent_slice: the input-grid axial slice the latent maps belong to, else ``None``.
        latent_note: one line for the user about the latent maps (``""`` when they cover it).
        reference: the key of the reference model of ``disagreement``.
        typicality: per model with a typicality reference (bundled sets): ``{"score",
            "percentile", "reading"}`` of draw 0 (see :mod:`vqseg_core.analysis.ood`).
        hd95_units: ``"mm"`` (spacing known) or ``"px"``.
        size_name, size_units: what each model's ``sizes`` are and their units:
            ``"area"`` in ``"mm²"`` or ``"px"`` (2D), ``"volume"`` in ``"mL"`` or ``"voxels"``.
        latent_state: ``"done"`` (the latent maps are in), ``"pending"`` (masks and metrics
            only; the latents follow, :func:`iter_analyse` with ``progressive``) or
            ``"skipped"`` (not asked for: ``latents=False``).
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
    reference: str = ""
    typicality: dict[str, dict[str, Any]] = field(default_factory=dict)
    hd95_units: str = "mm"
    latent_state: str = "done"
    size_name: str = "area"
    size_units: str = "mm²"

    def with_reference(self, reference: str) -> RobustnessView:
        """The same view compared against another of its models (no model runs again): each
        model's disagreement with ``reference``, and where any model differs from it."""
        if reference not in self.models:
            raise KeyError(f"no model {reference!r} in this view; its models: {list(self.models)}")
        if reference == self.reference:
            return self
        models, anywhere = compare(
            {k: mv.labels for k, mv in self.models.items()}, reference
        )
        views = {k: replace(mv, disagreement=models[k]) for k, mv in self.models.items()}
        return replace(self, models=views, disagreement=anywhere, reference=reference)


def compare(
    labels: dict[str, np.ndarray], reference: str
) -> tuple[dict[str, np.ndarray | None], np.ndarray]:
    """Each model's disagreement with ``reference`` (``None`` for the reference itself) and
    where any model differs from it (for two models: where they differ)."""
    ref = labels[reference]
    each = {k: None if k == reference else lab != ref for k, lab in labels.items()}
    others = [d for d in each.values() if d is not None]
    anywhere = np.logical_or.reduce(others) if others else np.zeros(ref.shape, bool)
    return each, np.asarray(anywhere, dtype=bool)


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
    cancel=None,
    batch_size: int = 8,
    focus: int | None = None,
    reference: str | None = None,
    latents: bool = True,
) -> RobustnessView:
    """Corrupt an image and show what every model of a set makes of it.

    Args:
        pair: a :class:`~vqseg_core.modelset.ModelSet` (a pair is one).
        array: raw image ``(H, W)`` or ``(X, Y, Z)`` as :func:`vqseg_core.io.load_image` gives it.
        spacing: mm per axis (``None``: unknown, 1 mm is assumed and HD95 is in pixels).
        kind: corruption kind (see :data:`vqseg_core.perturb.REGISTRY`).
        level: its strength in the kind's units (% of the [0, 1] range for the paper's three).
        seed: seed of draw 0; draw d uses ``seed + d``.
        n_draws: number of corrupted draws (latent variance and flip maps need >= 2).
        ground_truth: labels on the input grid (same shape as ``array``) to score against.
        device, precision: see :class:`~vqseg_core.inference.Predictor`.
        cancel: a callable returning True to abort; checked between batches.
        batch_size: draws per forward pass.
        focus: for volumes, the input-grid axial slice to finish first (and the slice of a 2D
            slice model's latent maps).
        reference: the model others are compared with (default: the first).
        latents: compute latent maps (encoder only; masks and scores need none).

    Raises:
        ValueError: bad kind, level, seed, n_draws, or a ground truth of the wrong shape.
        Cancelled: ``cancel()`` returned True.
    """
    steps = iter_analyse(pair, array, spacing, kind=kind, level=level, seed=seed,
                         n_draws=n_draws, ground_truth=ground_truth, device=device,
                         precision=precision, cancel=cancel, batch_size=batch_size, focus=focus,
                         reference=reference, latents=latents)  # fmt: skip
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
    cancel=None,
    batch_size: int = 8,
    focus: int | None = None,
    reference: str | None = None,
    latents: bool = True,
    progressive: bool = False,
) -> Generator[PartialLabels | RobustnessView, None, RobustnessView]:
    """:func:`analyse` as a generator: yields each model's :class:`PartialLabels` once the focus
    slice of a slab-wise volume is final (every model's focus slab runs before the rest), and
    returns the :class:`RobustnessView`. Nothing else is yielded unless ``progressive``: then
    the view of masks and metrics (``latent_state="pending"``) comes before the latents run
    (see :func:`iter_view`)."""
    corruption = Corruption(kind, level, seed)
    request = RunRequest(pair, np.asarray(array), None if spacing is None else tuple(spacing),
                         corruption, n_draws, device, precision, focus, batch_size,
                         latents=latents)  # fmt: skip
    return (yield from iter_view(request, ground_truth, reference, cancel, progressive=progressive))


def iter_view(
    request: RunRequest,
    ground_truth: np.ndarray | None = None,
    reference: str | None = None,
    cancel=None,
    memo: ImageMemo | None = None,
    progressive: bool = False,
) -> Generator[PartialLabels | RobustnessView, None, RobustnessView]:
    """The view of a request, step by step: yields each model's :class:`PartialLabels` of a
    slab-wise volume, and with ``progressive`` the masks-and-metrics view (:func:`masks_view`,
    ``latent_state="pending"``) before any latent runs; returns the full view, equal to
    :func:`view_of` of the same run (the masks view with the latents added).

    Args:
        request: the :class:`~vqseg_core.engine.RunRequest`.
        ground_truth: labels on the input grid to score against.
        reference: the model others are compared with (default: the first).
        cancel: returns True to abort.
        memo: the image's corruption-independent work kept from earlier runs
            (:class:`~vqseg_core.engine.ImageMemo`).
        progressive: yield the masks-and-metrics view first.
    """
    view, _run = yield from iter_view_and_run(request, ground_truth, reference, cancel, memo,
                                              progressive)  # fmt: skip
    return view


def iter_view_and_run(
    request: RunRequest,
    ground_truth: np.ndarray | None = None,
    reference: str | None = None,
    cancel=None,
    memo: ImageMemo | None = None,
    progressive: bool = False,
) -> Generator[PartialLabels | RobustnessView, None, tuple[RobustnessView, Run]]:
    """:func:`iter_view` that returns the engine's :class:`~vqseg_core.engine.Run` beside the
    view (its latents over the draws, for callers that summarise them further)."""
    gt = None if ground_truth is None else check_ground_truth(ground_truth, request.image.shape)
    steps = engine.iter_execute(request, cancel, memo, progressive)  # looked up at call time
    first: RobustnessView | None = None
    while True:
        try:
            step = next(steps)
        except StopIteration as stop:
            run = stop.value
            break
        if isinstance(step, MasksReady):
            first = masks_view(step.run, gt, reference)
            yield first
        else:
            yield step
    view = view_of(run, gt, reference) if first is None else with_latents(first, run)
    return view, run


def view_of(run: Run, ground_truth: np.ndarray | None = None, reference: str | None = None) -> RobustnessView:
    """The :class:`RobustnessView` of an engine run (scored against ``ground_truth``)."""
    return with_latents(masks_view(run, ground_truth, reference), run)


def masks_view(
    run: Run, ground_truth: np.ndarray | None = None, reference: str | None = None
) -> RobustnessView:
    """The labels, disagreement and scores of a run, without its latents
    (``latent_state="pending"``): what a progressive run shows first."""
    gt = check_ground_truth(ground_truth, run.request.image.shape)
    reference = reference or run.keys[0]
    disagree, anywhere = compare({k: mr.labels[0] for k, mr in run.models.items()}, reference)
    spacing = run.request.spacing
    views: dict[str, ModelView] = {}
    for key, mr in run.models.items():
        labels = mr.labels[0]
        scores = None
        if gt is not None:
            scores = named(score_labels(labels, gt, mr.member.classes, spacing), mr.member.classes)
        views[key] = ModelView(
            labels=labels, latent_variance=None, indices=None, flip_map=None, flip_rate=None,
            scores=scores, name=mr.member.name, colour=mr.member.colour, kind=mr.member.kind,
            disagreement=disagree[key], sizes=class_sizes(labels, mr.member.classes, spacing),
        )  # fmt: skip
    ndim = run.request.image.ndim
    size_name, units = size_units(ndim, spacing)
    return RobustnessView(
        corrupted=run.corrupted,
        models=views,
        disagreement=anywhere,
        corruption=run.request.corruption,
        latent_scale=(1.0,) * ndim,
        latent_translate=(0.0,) * ndim,
        n_draws=run.n_draws,
        latents_available=False,
        reference=reference,
        hd95_units="mm" if spacing is not None else "px",
        latent_state="pending",
        size_name=size_name,
        size_units=units,
    )


def with_clean_labels(
    view: RobustnessView, request: RunRequest, memo: ImageMemo | None = None, cancel=None
) -> RobustnessView:
    """``view`` with each model's labels of the clean image (``ModelView.clean_labels``).

    At the corruption's identity level they are the view's own labels. Otherwise each model
    runs once on the clean image (draw 0 at the identity level, as the engine runs it): with
    ``memo`` the labels are kept per image and model (:meth:`ImageMemo.clean_labels`, the
    same entry a run at the identity level fills), so only the first call on an image runs.

    Raises:
        Cancelled: ``cancel()`` returned True.
    """
    c = request.corruption
    if c.is_identity:
        return replace(view, models={k: replace(mv, clean_labels=mv.labels)
                                     for k, mv in view.models.items()})  # fmt: skip
    clean = request.with_(corruption=replace(c, level=c.spec.identity), n_draws=1,
                          latents=False)  # fmt: skip
    models = {}
    for key, mv in view.models.items():
        one = clean.with_(keys=(key,))

        def labels(one: RunRequest = one, key: str = key) -> np.ndarray:
            return engine.execute(one, cancel, memo).models[key].labels

        if memo is None:
            stacked = labels()
        else:
            predictor = request.models.predictor(key, request.device, request.precision)
            stacked = memo.clean_labels(request.models.member(key), predictor, labels)
        models[key] = replace(mv, clean_labels=stacked[0])
    return replace(view, models=models)


def with_latents(view: RobustnessView, run: Run) -> RobustnessView:
    """``view`` (:func:`masks_view` of ``run``'s labels) with ``run``'s latent maps added
    (``latent_state`` ``"done"``, or ``"skipped"`` when the request asked for none)."""
    models: dict[str, ModelView] = {}
    for key, mv in view.models.items():
        mr = run.models[key]
        lat = {name: _latent_view(draws, mr.geometry[name]) for name, draws in mr.latents.items()}
        neck = lat.get(BOTTLENECK)
        models[key] = replace(
            mv,
            latent_variance=None if neck is None else neck.variance,
            indices=None if neck is None else neck.indices,
            flip_map=None if neck is None else neck.flip_map,
            flip_rate=None if neck is None else neck.flip_rate,
            quantized_variance=None if neck is None else neck.quantized_variance,
            latents=lat,
        )
    first = next(iter(models.values()))
    neck = first.latents.get(BOTTLENECK)
    scale, translate = (neck.scale, neck.translate) if neck else (view.latent_scale, view.latent_translate)
    return replace(
        view,
        models=models,
        latent_scale=scale,
        latent_translate=translate,
        latents_available=run.latents_available,
        latent_slice=run.latent_slice,
        latent_note=run.latent_note,
        latent_state="done" if run.request.latents else "skipped",
    )


def _latent_view(draws: LatentDraws, geometry: tuple[tuple[float, ...], tuple[float, ...]]) -> LatentView:
    flips, rate = None, None
    if draws.indices is not None and draws.clean_indices is not None:
        flips = code_flip_map(draws.indices, draws.clean_indices).numpy()
        rate = code_flip_rate(draws.indices, draws.clean_indices)  # as vqseg-eval latent
    return LatentView(
        variance=_mean_variance(draws.features),
        quantized_variance=_mean_variance(draws.quantized),
        indices=None if draws.indices is None else draws.indices[0].numpy(),
        flip_map=flips,
        flip_rate=rate,
        scale=geometry[0],
        translate=geometry[1],
    )


def _mean_variance(latents) -> np.ndarray | None:
    if latents is None or latents.shape[0] < 2:
        return None
    return latent_variance(latents).mean(dim=0).numpy()
