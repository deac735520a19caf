"""What the explorer shows while a worker runs: a volume's partial masks, then every model's
mask and the metrics before the latent maps (a progressive slider move).

The worker (:func:`napari_vqseg.explorer.workers.analyse`) yields a
:class:`~vqseg_core.engine.PartialLabels` per model of a slab-wise volume (for a windowed 3D
network first a preview of the displayed slice, shown at once in the model's mask layer), and
once every model's labels are final the view of masks and metrics
(``latent_state="pending"``); its result is the full view. The latent layers keep their
previous maps until that result replaces them, and the status says "computing latents...".
While no latent layer is visible the session runs no latent work at all (the view's
``latent_state`` is ``"skipped"``); making one visible again starts a run that computes them.
"""

from __future__ import annotations

from typing import Any

LATENT_NOTES = {
    "pending": "computing latents...",
    "skipped": "Latent maps: not computed while their layers are hidden (show one to compute).",
}
"""The status line of a view whose latent maps are not in (by its ``latent_state``)."""


def on_step(widget: Any, step: Any, layer: Any, gt_layer: Any, item: Any) -> None:
    """A worker's intermediate result: a volume's partial mask, or the masks-and-metrics view."""
    if hasattr(item, "models"):
        on_masks(widget, step, layer, gt_layer, item)
    else:
        widget._on_partial(step, layer, item)


def on_masks(widget: Any, step: Any, layer: Any, gt_layer: Any, view: Any) -> None:
    """Every model's mask and the metrics, before the latent maps (their layers untouched)."""
    job = step.job
    if widget._closed or job is None or layer not in widget.viewer.layers:
        return
    shown = widget.session.accept_masks(job, view)
    if shown.action == "show":
        widget._show(shown.view, layer, gt_layer if gt_layer in widget.viewer.layers else None)


def on_partial(widget: Any, step: Any, layer: Any, partial: Any) -> None:
    """One model's mask of a volume still running: its focus slice is final, or a preview of it
    (``partial.preview``; the status says "preview of slice z — refining…"). Metrics wait for
    the exact labels either way."""
    job = step.job
    if widget._closed or job is None or job.cancelled or layer not in widget.viewer.layers:
        return
    from napari_vqseg.explorer.sets import legend_of

    legend = legend_of(step.request.models)  # the set of this run, not the one chosen now
    name = legend[partial.model].name if partial.model in legend else partial.model
    keys = step.request.member_keys
    first = not widget.layers.all()
    widget.layers.keys = list(keys)
    widget.sync_legend()  # the set's class colours for the new mask
    widget.layers.show_partial(partial.model, partial.labels, layer, name, keys)
    if first:
        from napari_vqseg.explorer._qt.stale import fit

        widget._arrange()
        fit(widget, layer, partial=True)  # again when every panel is in
    a, b = partial.z_range
    if getattr(partial, "preview", False):  # thin windows around the focus: not final yet
        z = step.request.focus if step.request.focus is not None else (a + b - 1) // 2
        widget.status.setText(f"{name}: preview of slice {z} \u2014 refining\u2026")
        return
    widget.status.setText(f"{name}: slices {a}-{b - 1} ready; the rest of the volume runs...")


def latents_shown(widget: Any) -> None:
    """A latent layer was made visible: compute the latent maps if the view lacks them."""
    view = widget.session.view
    if not widget._closed and view is not None and getattr(view, "latent_state", "") == "skipped":
        widget.status.setText("computing latents...")
        widget.schedule()
