"""The Robustness Explorer's session: settings in; requests, jobs, views and sweeps out (no Qt).

One session per explorer. It owns the loaded model sets, the result cache, the background jobs
(the one place that says "the same job is already running"), the current view and the sweep
rows. The Qt widget reads the controls into an :class:`~.settings.ExplorerSettings`, hands it
to the session with the image, and follows the :class:`Step` it gets back::

    step = session.analyse(settings, image, spacing, gt, focus, latents)
    # "show":   step.view is ready (a cached result: instant)
    # "start":  run step.job.work in a worker thread: it yields the masks-and-metrics view
    #           (session.accept_masks(step.job, view)) before the latents run, then
    #           session.accept(step.job, outcome)
    # "load":   the models are loading (step.job; then session.accept_models)
    # "wait":   the same job is already running
    # "refuse": step.message says why (the corruption's own message for a bad level)

A slider move is progressive: every model's mask and the metrics first, the latent maps after
them in the same worker, and no latent work at all while the caller says none is wanted
(``latents=False``: no latent layer is visible). Work that no slider changes (preprocessing,
the clean image's latents and labels) is kept per image in :attr:`ExplorerSession.image_work`
(a :class:`~napari_vqseg.explorer.state.ResultCache` keyed on the image's SHA-256, bounded to a
quarter of ``cache_mib``). ``vqseg-demo`` and the tests drive the same object. The corruption is checked once, by the
:class:`~vqseg_core.perturb.Corruption` inside the :class:`~vqseg_core.engine.RunRequest`; the
cache key is built from that request (:meth:`ExplorerSession.cache_key`). Torch is imported
only when a request is built or a worker runs.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from napari_vqseg.explorer import workers
from napari_vqseg.explorer.sets import (
    MemberInfo,
    SetSource,
    compose_set,
    describe,
    legend_of,
)
from napari_vqseg.explorer.settings import FROM_FILES, ExplorerSettings
from napari_vqseg.explorer.state import (
    DEFAULT_CACHE_BYTES,
    MIB,
    AnalysisKey,
    Job,
    JobTracker,
    ResultCache,
    array_fingerprint,
)

MIN_SHOWN, MAX_SHOWN = 2, 6
"""How many models the explorer compares at once."""

NO_MODELS = "Choose models: a bundled set, or your own exports with 'From files...'."

@dataclass(frozen=True)
class Step:
    """What the session decided; the widget follows it.

    Attributes:
        action: ``"show"``, ``"start"``, ``"load"``, ``"loaded"``, ``"wait"``, ``"refuse"``,
            ``"drop"`` (a stale or cancelled result) or ``"error"``.
        job: the job to run (``"start"``, ``"load"``).
        view: the view to show (``"show"`` of an analysis).
        message: a line for the status bar (why, or what is running).
        error: the exception of an ``"error"``.
        total: the number of levels of a sweep.
        request: the :class:`~vqseg_core.engine.RunRequest` of an analysis or sweep started.
    """

    action: str
    job: Job | None = None
    view: Any = None
    message: str = ""
    error: BaseException | None = None
    total: int = 0
    request: Any = None


class ExplorerSession:
    """The explorer's state and decisions, without Qt.

    Args:
        cache_items: analysis results kept (least recently used evicted first; the bound in
            bytes is the settings' ``cache_mib``, applied on each :meth:`analyse`).
    """

    def __init__(self, cache_items: int = 24) -> None:
        self.cache = ResultCache(cache_items)
        self.image_work = ResultCache(4 * cache_items, DEFAULT_CACHE_BYTES // 4)
        self.jobs = JobTracker()
        self.sets: dict[SetSource, Any] = {}
        self.settings = ExplorerSettings()
        self.view: Any | None = None
        self.view_key: AnalysisKey | None = None
        self._keyed: tuple[Any, AnalysisKey] | None = None
        self.sweep_rows: list[dict[str, Any]] = []
        self.sweep_units = ""

    # ---- model sets ------------------------------------------------------------------------
    @staticmethod
    def source(settings: ExplorerSettings) -> SetSource | None:
        """Where the settings' models come from (``None``: nothing chosen yet)."""
        name = None if settings.models in ("", FROM_FILES) else settings.models
        files = tuple(settings.model_files)
        if settings.models == FROM_FILES and not files:
            return None
        return None if name is None and not files else (name, files)

    def add_set(self, model_set: Any) -> str:
        """Offer a set already in memory under its name; returns the name for the settings."""
        self.sets[(model_set.name, ())] = model_set
        return model_set.name

    def loaded(self, settings: ExplorerSettings | None = None) -> Any | None:
        """The full loaded set of the settings (default: the last ones), or ``None``."""
        source = self.source(settings or self.settings)
        return None if source is None else self.sets.get(source)

    def load_now(self, settings: ExplorerSettings) -> Any:
        """Load the settings' models in this thread (``vqseg-demo``); cached like a load job.

        Raises:
            ValueError: no models chosen, or a set that cannot be composed.
            CheckpointError: a missing or corrupt weight file.
        """
        source = self.source(settings)
        if source is None:
            raise ValueError(NO_MODELS)
        if source not in self.sets:
            self.sets[source] = compose_set(*source)
        return self.sets[source]

    def members(self, settings: ExplorerSettings | None = None) -> list[MemberInfo]:
        """The models the settings' set offers, for the controls (before loading for a
        bundled set: read from the registry, no torch)."""
        settings = settings or self.settings
        model_set = self.loaded(settings)
        if model_set is not None:
            return list(legend_of(model_set).values())
        source = self.source(settings)
        if source is None or source[0] is None or source[1]:
            return []
        from vqseg_core.modelset import PALETTE
        from vqseg_core.pretrained import set_info

        try:
            info = set_info(source[0])
        except ValueError:
            return []
        return [MemberInfo(m["key"], m.get("name") or m["key"], m.get("colour") or PALETTE[i % 6])
                for i, m in enumerate(info.members)]  # fmt: skip

    def legend(self, settings: ExplorerSettings | None = None) -> dict[str, MemberInfo]:
        """``{key: MemberInfo}`` of every model of the loaded set (empty when none)."""
        model_set = self.loaded(settings)
        return {} if model_set is None else legend_of(model_set)

    def shown_set(self) -> Any | None:
        """The model set of the view on screen: the set that ran, which the controls may have
        left since (another set chosen, still loading); ``None`` without a view."""
        if self.view_key is None:
            return None
        return next((s for s in self.sets.values() if s.id == self.view_key.models), None)

    def shown_legend(self) -> dict[str, MemberInfo]:
        """``{key: MemberInfo}`` of :meth:`shown_set` (else of the loaded set)."""
        model_set = self.shown_set()
        return self.legend() if model_set is None else legend_of(model_set)

    def chosen_keys(self, settings: ExplorerSettings) -> tuple[str, ...]:
        """:meth:`chosen` of the settings' loaded set; ``()`` when it is not loaded or the
        choice is not valid (the run itself says why)."""
        model_set = self.loaded(settings)
        try:
            return () if model_set is None else self.chosen(settings, model_set)
        except ValueError:
            return ()

    @staticmethod
    def chosen(settings: ExplorerSettings, model_set: Any) -> tuple[str, ...]:
        """The member keys to compare: the settings' (2-6, in order), else the set's first six.

        Raises:
            ValueError: an unknown key, a repeated key, or fewer than 2 / more than 6 models.
        """
        keys = settings.keys if settings.keys is not None else model_set.keys[:MAX_SHOWN]
        for key in keys:
            if key not in model_set:
                raise ValueError(f"set {model_set.name!r} has no model {key!r}; "
                                 f"its models: {', '.join(model_set.keys)}")  # fmt: skip
        if len(set(keys)) != len(keys):
            raise ValueError(f"a model is chosen twice: {list(keys)}")
        if not MIN_SHOWN <= len(keys) <= MAX_SHOWN:
            raise ValueError(f"choose {MIN_SHOWN}-{MAX_SHOWN} models to compare, got {len(keys)}")
        return tuple(keys)

    @staticmethod
    def reference(settings: ExplorerSettings, keys: Sequence[str]) -> str:
        """The reference model: the settings' when it is compared, else the first."""
        return settings.reference if settings.reference in keys else keys[0]

    # ---- one analysis ----------------------------------------------------------------------
    def request(
        self,
        settings: ExplorerSettings,
        image: np.ndarray,
        spacing: Sequence[float] | None = None,
        focus: int | None = None,
        latents: bool = True,
    ) -> Any:
        """The :class:`~vqseg_core.engine.RunRequest` of ``settings`` on one image
        (``latents``: compute the latent maps).

        Raises:
            LookupError: the settings' models are not loaded.
            ValueError: from the request: the corruption (kind, level, seed), the number of
                draws, the image's dimensionality; or the chosen models (:meth:`chosen`).
        """
        from vqseg_core.engine import RunRequest
        from vqseg_core.perturb import Corruption

        model_set = self.loaded(settings)
        if model_set is None:
            raise LookupError(NO_MODELS)
        keys = self.chosen(settings, model_set)
        image = np.asarray(image)
        return RunRequest(
            model_set, image, None if spacing is None else tuple(spacing),
            Corruption(settings.kind, settings.level, settings.seed), settings.n_draws,
            settings.device, focus=focus if image.ndim == 3 else None, latents=latents, keys=keys,
        )  # fmt: skip

    @staticmethod
    def cache_key(request: Any, gt: np.ndarray | None = None) -> AnalysisKey:
        """The cache key of a request (and ground truth): everything the view depends on."""
        return AnalysisKey(
            request.models.id, request.member_keys, request.corruption, request.n_draws,
            str(request.device), request.precision, request.latents,
            _slice_focus(request, request.latents), array_fingerprint(request.image),
            None if gt is None else array_fingerprint(gt), request.spacing,
        )  # fmt: skip

    def analyse(
        self,
        settings: ExplorerSettings,
        image: np.ndarray,
        spacing: Sequence[float] | None = None,
        gt: np.ndarray | None = None,
        focus: int | None = None,
        latents: bool = True,
    ) -> Step:
        """Decide what the settings need on this image: a cached view, a job, a load, or no.

        Args:
            settings: what the user chose (remembered as :attr:`settings`).
            image: ``(H, W)`` or ``(X, Y, Z)`` raw image.
            spacing: mm per axis (the layer's scale).
            gt: labels of the image's shape (another shape is ignored, with a note).
            focus: the axial slice on screen of a volume (finished first; latent maps).
            latents: compute the latent maps (``False`` while no latent layer is visible: a
                cached view with them still shows).
        """
        self.settings = settings
        source = self.source(settings)
        if source is None:
            return Step("refuse", message=NO_MODELS)
        if source not in self.sets:
            return self._load(source)
        image = np.asarray(image)
        gt, note = _usable_gt(gt, image.shape)
        try:
            request = self.request(settings, image, spacing, focus, latents)
        except (ValueError, LookupError) as err:
            return Step("refuse", message=_text(err))
        self.cache.resize(max_bytes=settings.cache_mib * MIB)
        self.image_work.resize(max_bytes=settings.cache_mib * MIB // 4)
        key = self.cache_key(request, gt)
        self._keyed = (request, key)  # forget_if_stale(request) hashes the image only once
        cached = None
        if not latents:  # the same view with its latent maps, when computed, is preferred
            full = dataclasses.replace(key, latents=True, focus=_slice_focus(request, True))
            cached = self.cache.get(full)
            key = full if cached is not None else key
        cached = cached if cached is not None else self.cache.get(key)
        if cached is not None:
            self.jobs.cancel_all("analyse")
            return Step("show", view=self._present(cached, key), message=note)
        reference = self.reference(settings, request.member_keys)
        from vqseg_core.engine import ImageMemo

        memo = ImageMemo(self.image_work, key.image, request.spacing)
        job = self._begin("analyse", key, lambda job: functools.partial(
            workers.analyse, request, gt, reference, job.cancel, memo, True))  # fmt: skip
        if job is None:
            return Step("wait", message=note)
        return Step("start", job=job, message=note, request=request)

    def accept_masks(self, job: Job, view: Any) -> Step:
        """A job's masks and metrics are ready (its latents still run): ``"show"`` them, not
        cached (the full view will be), unless the job went stale (``"drop"``)."""
        if job.cancelled or not self.jobs.is_current(job):
            return Step("drop")
        self.view, self.view_key = self.present(view), job.key
        return Step("show", view=self.view, message="computing latents...")

    def accept(self, job: Job, outcome: workers.Outcome) -> Step:
        """An analysis job returned: cache its view; show it unless the job went stale."""
        status, value = outcome
        if status == "ok":
            self.cache.put(job.key, value)
        if status == "cancelled" or job.cancelled:
            return Step("drop")
        if status == "error":
            return Step("error", message=f"Error: {value}", error=value)
        return Step("show", view=self._present(value, job.key))

    def forget_if_stale(self, request: Any) -> bool:
        """Drop the view on screen when ``request`` is for another image, spacing or set of
        models (its masks and numbers would otherwise stay next to the new choice, and an
        export would pair them with the new set's name and hashes). Returns whether it did."""
        if self.view_key is None or request is None:
            return False
        keyed = self._keyed
        new = keyed[1] if keyed and keyed[0] is request else self.cache_key(request)
        old = self.view_key
        if (old.models, old.image, old.spacing) == (new.models, new.image, new.spacing):
            return False  # the same image and set (fewer or more of its models: still valid)
        self.view, self.view_key = None, None
        return True

    def forget_view(self) -> None:
        """Drop the view on screen (its image is no longer the one analysed)."""
        self.view, self.view_key = None, None

    def present(self, view: Any) -> Any:
        """``view`` with the current settings' reference model (no model runs)."""
        return with_reference(view, self.reference(self.settings, tuple(view.models)))

    def _present(self, view: Any, key: AnalysisKey) -> Any:
        self.view, self.view_key = self.present(view), key
        return self.view

    # ---- models ----------------------------------------------------------------------------
    def _load(self, source: SetSource) -> Step:
        job = self._begin("models", source,
                          lambda job: functools.partial(workers.load_models, *source))  # fmt: skip
        if job is None:
            return Step("wait")
        return Step("load", job=job, message=f"Loading models: {describe(source)}...")

    def accept_models(self, job: Job, outcome: workers.Outcome) -> Step:
        """A load job returned: keep the set (even if another set was chosen meanwhile)."""
        status, value = outcome
        if status == "ok":
            self.sets[job.key] = value
            return Step("loaded", message=f"{value.name}: {len(value)} models, classes "
                                          f"{value.classes}, {value.spatial_dims}D images")  # fmt: skip
        if status == "cancelled":
            return Step("drop")
        return Step("error", message=f"Could not load the models: {value}", error=value)

    # ---- sweep -----------------------------------------------------------------------------
    def sweep(
        self,
        settings: ExplorerSettings,
        image: np.ndarray,
        spacing: Sequence[float] | None = None,
        gt: np.ndarray | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Step:
        """A level sweep of the settings' corruption kind (metric vs level, every model)."""
        from vqseg_core.robustness import default_levels

        self.settings = settings
        image = np.asarray(image)
        gt, _ = _usable_gt(gt, image.shape)
        try:
            request = self.request(settings, image, spacing)
        except (ValueError, LookupError) as err:
            return Step("refuse", message=f"No sweep: {_text(err)}")
        keys = request.member_keys
        reference = self.reference(settings, keys)
        levels = tuple(default_levels(settings.kind))
        c = request.corruption
        key = (request.models.id, keys, c.kind, c.seed, request.n_draws, str(request.device),
               array_fingerprint(image), None if gt is None else array_fingerprint(gt), reference)  # fmt: skip
        subset = request.models.subset(keys)
        job = self._begin("sweep", key, lambda job: functools.partial(
            workers.sweep, subset, request, gt, levels, reference, job.cancel, progress))  # fmt: skip
        if job is None:
            return Step("wait", message="That sweep is already running.")
        return Step("start", job=job, total=len(levels), request=request,
                    message=f"Sweeping {c.kind} over {len(levels)} levels...")  # fmt: skip

    def accept_sweep(self, job: Job, outcome: workers.Outcome) -> Step:
        """A sweep returned: keep its rows unless it was cancelled or replaced."""
        from vqseg_core.perturb import get_spec

        status, value = outcome
        if status == "cancelled" or job.cancelled:
            return Step("drop")
        if status == "error":
            return Step("error", message=f"Error: {value}", error=value)
        self.sweep_rows = list(value)
        kind = self.sweep_rows[0]["kind"] if self.sweep_rows else self.settings.kind
        self.sweep_units = get_spec(kind).units
        levels = len({r["level"] for r in self.sweep_rows})
        return Step("show", message=f"Sweep done: {levels} levels.")

    # ---- jobs ------------------------------------------------------------------------------
    def _begin(self, kind: str, key: Hashable, work: Callable[[Job], Any]) -> Job | None:
        """Start a job unless the same one (kind and key) is already running."""
        if self.jobs.live(key, kind) is not None:
            return None
        job = self.jobs.start(key, kind)
        job.work = work(job)
        return job

    def finished(self, job: Job) -> None:
        """A worker ended (returned, failed or was cancelled)."""
        self.jobs.finish(job)

    def cancel(self, kind: str | None = None) -> int:
        """Cancel running jobs (of one kind, or all); returns how many."""
        return self.jobs.cancel_all(kind)

    @property
    def busy(self) -> bool:
        """Whether a job that is not cancelled is running."""
        return self.jobs.busy

    # ---- report ----------------------------------------------------------------------------
    def export(
        self,
        folder: str | Path,
        screenshot: Any | None = None,
        extra: dict[str, Any] | None = None,
    ) -> list[Path]:
        """Write the report folder of the current settings, view and sweep; the models named
        are those of the view (:meth:`shown_set`), never a set chosen after it ran."""
        from napari_vqseg.explorer.report import export_report
        from vqseg_core.perturb import get_spec

        models = self.shown_set() if self.view is not None else None
        return export_report(
            folder, self.settings, models=models or self.loaded(), view=self.view,
            sweep=self.sweep_rows, screenshot=screenshot,
            units=self.sweep_units or get_spec(self.settings.kind).units,
            legend=self.shown_legend(), extra=extra,
        )  # fmt: skip


# ---- helpers -------------------------------------------------------------------------------
def with_reference(view: Any, reference: str) -> Any:
    """``view`` compared against another of its models (an unknown key leaves it as it is)."""
    return view.with_reference(reference) if reference in view.models else view


def _slice_focus(request: Any, latents: bool) -> int | None:
    """The focus slice a view depends on: a volume's under a 2D slice model with latents."""
    slice_latents = (
        request.image.ndim == 3
        and latents
        and any(request.models.member(k).model_dims == 2 for k in request.member_keys)
    )
    return request.focus if slice_latents else None


def _usable_gt(gt: Any, shape: tuple[int, ...]) -> tuple[np.ndarray | None, str]:
    if gt is None:
        return None, ""
    gt = np.asarray(gt)
    if gt.shape != tuple(shape):
        return None, f"The ground truth has shape {gt.shape}, not {tuple(shape)}: ignored."
    return gt, ""


def _text(err: BaseException) -> str:
    return str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
