"""The explorer's napari layers: made once per model, updated in place on every result (no Qt).

Each model of the view gets one panel's worth of layers: the corrupted input named after the
model (``"VQ-UNet"``; its name is the panel's caption, in the model's colour) and the others
``"<model> · <what>"`` (e.g. ``"VQ-UNet · mask"``), so the layer list stays grouped by model.
Each layer carries its role, ``"<what>:<model key>"``, in ``layer.metadata["vqseg_role"]`` so
it is found again even if the user renames it; a deleted layer is made again on the next result. Input-grid layers copy the
analysed image layer's ``scale`` / ``translate``; latent maps (of the one latent chosen in the
controls: the bottleneck, or a quantised skip) add that latent's own geometry (input pixels
per latent cell, centre of cell 0).

On a volume under a 2D slice model the latent maps are those of one axial slice (the one on
screen when the run started): ``(h, w, 1)`` layers placed at that slice, named
``"... (slice N)"``. While a volume runs, :meth:`ExplorerLayers.show_partial` puts each model's
mask in as soon as the slice on screen is final. A view whose latent maps are not in
(``latent_state`` ``"pending"``: they follow; ``"skipped"``: not asked for while their layers
are hidden) leaves the latent layers as they are.

Masks and ground-truth outlines are drawn in the class colours of :mod:`.legend` side by side;
stacked on one canvas each model's mask takes its own colour (:meth:`ExplorerLayers.paint`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from napari_vqseg._layers import IMAGE_KEY
from napari_vqseg.explorer.layout import SPACER, grid_plan, grid_shape, stacked_order
from napari_vqseg.explorer.legend import class_colours, model_mask_colours, outline_colours
from napari_vqseg.explorer.settings import BOTTLENECK

if TYPE_CHECKING:
    import napari

ROLE_KEY = "vqseg_role"
SEP = " · "
ROLES: dict[str, tuple[str, str]] = {
    "corrupted": ("corrupted image", "image"),
    "latent": ("latent variance", "image"),
    "codes": ("codebook assignment", "labels"),
    "flips": ("code flips", "image"),
    "disagreement": ("disagreement", "labels"),
    "mask": ("mask", "labels"),
    "gt": ("ground truth", "labels"),
}
"""Per model, bottom first: what the layer shows -> (name after the model's, layer type)."""
HIDDEN_AT_FIRST = ("latent", "codes", "flips", "disagreement")
LATENT_ROLES = ("latent", "codes", "flips")
CAPTION_SIZE = 12


def role(what: str, key: str) -> str:
    """The role of one model's layer: ``"mask:vqunet"``."""
    return f"{what}:{key}"


def split_role(name: str) -> tuple[str, str]:
    """``(what, model key)`` of a role."""
    what, _, key = name.partition(":")
    return what, key


def base_geometry(source: Any) -> dict[str, Any]:
    """``scale``, ``translate``, ``units``, ``axis_labels`` of the analysed image layer."""
    return {"scale": np.asarray(source.scale, dtype=float),
            "translate": np.asarray(source.translate, dtype=float),
            "units": source.units, "axis_labels": source.axis_labels}  # fmt: skip


class ExplorerLayers:
    """Creates, updates and arranges the explorer's layers in one viewer."""

    def __init__(self, viewer: napari.Viewer) -> None:
        self.viewer = viewer
        self.keys: list[str] = []
        self.colours: dict[str, str] = {}
        self._saved_visibility: dict[int, bool] = {}
        self._base: dict[str, Any] | None = None
        self.on_latent_shown: Callable[[], None] | None = None
        """Called when the user makes a latent layer visible (the widget computes the maps)."""
        self.classes: dict[int, str] = {}
        """Label value -> class name of the set shown (the widget sets it; masks and the
        ground truth are painted in its class colours, see :meth:`paint`)."""
        self.stacked = False
        """Whether the layers share one canvas (each model's mask in its own colour)."""
        self._painted: dict[int, tuple] = {}
        self._gridded = False  # whether :meth:`arrange` turned napari's grid on

    def latents_wanted(self, keys: Sequence[str] = ()) -> bool:
        """Whether a run of the models ``keys`` should compute latent maps: some latent layer
        is visible, there is none yet, or one of ``keys`` has no layers yet (a model just added
        to the set): the first result of a model makes its latent layers, hidden, so that they
        can be shown."""
        latent = [lay for lay in self.all()
                  if split_role(lay.metadata[ROLE_KEY])[0] in LATENT_ROLES]  # fmt: skip
        if not latent or any(lay.visible for lay in latent):
            return True
        return any(self.layer(role("mask", key)) is None for key in keys)

    def layer(self, role_name: str) -> Any | None:
        """The viewer's layer of a role (``"mask:vqunet"``), or ``None``."""
        for layer in self.viewer.layers:
            if layer.metadata.get(ROLE_KEY) == role_name:
                return layer
        return None

    def all(self) -> list[Any]:
        """Every explorer layer now in the viewer."""
        return [lay for lay in self.viewer.layers if ROLE_KEY in lay.metadata]

    def show(
        self,
        view: Any,
        source: Any,
        gt: Any | None = None,
        legend: Mapping[str, Any] | None = None,
        latent: str = BOTTLENECK,
    ) -> list[str]:
        """Put a :class:`~vqseg_core.robustness.RobustnessView` into the layers.

        Args:
            view: the view (its models in panel order; its reference model).
            source: the analysed image layer (geometry, metadata for the writer).
            gt: the ground-truth layer (drawn as a contour in every panel), or ``None``.
            legend: ``{key: MemberInfo}`` display names and colours (default: the view's).
            latent: which latent's maps to show (a model without it shows none).

        Returns:
            The roles shown.
        """
        base = self._base = base_geometry(source)
        scale, translate = base["scale"], base["translate"]
        names = {k: _display(legend, k, mv) for k, mv in view.models.items()}
        self.keys = list(view.models)
        self.colours = {k: _colour(legend, k, mv) for k, mv in view.models.items()}
        for layer in self.all():  # models no longer compared
            what, key = split_role(layer.metadata[ROLE_KEY])
            if what + ":" != SPACER and key not in view.models:
                self.viewer.layers.remove(layer)
        notes = [] if latent == BOTTLENECK else [latent]
        if getattr(view, "latent_slice", None) is not None:
            notes.append(f"slice {view.latent_slice}")
        suffix = f" ({', '.join(notes)})" if notes else ""
        like = source.metadata.get(IMAGE_KEY)
        meta = {IMAGE_KEY: like} if like is not None else {}
        shown: list[str] = []

        def put(what: str, key: str, data: Any, geometry: dict[str, Any], name: str,
                **style: Any) -> None:  # fmt: skip
            if data is None:
                self.remove(role(what, key))
                return
            self._put(role(what, key), np.asarray(data), geometry,
                      meta if geometry is base else {}, style, name)  # fmt: skip
            shown.append(role(what, key))

        chosen = {k: mv.latents.get(latent) for k, mv in view.models.items()}
        maps = getattr(view, "latent_state", "done") == "done"  # else their layers stay as they are
        deterministic = not _stochastic(view.corruption.kind)
        ref = names.get(view.reference, view.reference)
        gt_data = None if gt is None else np.asarray(gt.data)
        for key, mv in view.models.items():
            name, lat = names[key], chosen[key]
            geo = base
            if lat is not None:
                geo = {**base, "scale": scale * np.asarray(lat.scale, dtype=float),
                       "translate": translate + scale * np.asarray(lat.translate, dtype=float)}  # fmt: skip
            label = {what: f"{name}{SEP}{spec[0]}" for what, spec in ROLES.items()}
            label["corrupted"] = name  # the panel's caption
            put("corrupted", key, view.corrupted, base, label["corrupted"], colormap="gray",
                contrast_limits=(0.0, 1.0))  # fmt: skip
            variance = None if lat is None else lat.variance
            peak = _peak(variance)  # each model on its own scale: its colour bar says which
            scale_note = " (deterministic corruption: no variance)" if deterministic else ""
            codes = None if lat is None or lat.indices is None else lat.indices.astype(np.int32) + 1
            if maps:
                put("latent", key, variance, geo, label["latent"] + suffix + scale_note,
                    colormap="inferno", contrast_limits=(0.0, peak), opacity=0.7,
                    blending="translucent", colorbar=True)  # fmt: skip
                put("codes", key, codes, geo, label["codes"] + suffix, opacity=0.6)
                put("flips", key, None if lat is None else lat.flip_map, geo,
                    label["flips"] + suffix, colormap="magma", contrast_limits=(0.0, 1.0),
                    opacity=0.7, blending="translucent", colorbar=True)  # fmt: skip
            differs = mv.disagreement if mv.disagreement is not None else view.disagreement
            what = f"differs from {ref}" if key != view.reference else "any model differs"
            put("disagreement", key, differs.astype(np.uint8), base, f"{name}{SEP}{what}",
                opacity=0.8, colormap=_red())  # fmt: skip
            put("mask", key, mv.labels, base, label["mask"], opacity=0.5)
            put("gt", key, gt_data, base, label["gt"], contour=1, opacity=0.9)
        self.paint()
        return shown

    def mask_colours(self, what: str, key: str) -> dict[int | None, str] | None:
        """The colour dict of a model's ``"mask"`` or ``"gt"`` layer in the current mode
        (``None`` without classes: napari's own colours)."""
        if not self.classes:
            return None
        if what == "gt":
            return outline_colours(self.classes)
        if self.stacked:
            return model_mask_colours(self.classes, self.colours.get(key) or "#f0f1f2")
        return class_colours(self.classes)

    def paint(self) -> None:
        """Give every mask and ground-truth layer the colours of the current mode (class
        colours side by side, one colour per model stacked); unchanged layers are skipped."""
        for layer in self.all():
            what, key = split_role(layer.metadata[ROLE_KEY])
            if what not in ("mask", "gt"):
                continue
            colours = self.mask_colours(what, key)
            if colours is None:
                continue
            signature = tuple(sorted(((-1 if k is None else k), v) for k, v in colours.items()))
            if self._painted.get(id(layer)) == signature:
                continue
            from napari.utils.colormaps import DirectLabelColormap

            layer.colormap = DirectLabelColormap(color_dict=colours)
            self._painted[id(layer)] = signature

    def show_partial(
        self, key: str, labels: np.ndarray, source: Any, name: str, keys: Sequence[str]
    ) -> bool:
        """Put one model's mask of a volume still running in; True if a layer was made.

        Args:
            key: the model's key; ``name``: its display name.
            labels: its labels on the input grid (slices not yet final are 0).
            source: the analysed image layer.
            keys: every compared model, in panel order.
        """
        self.keys = list(keys)
        made = self.layer(role("mask", key)) is None
        like = source.metadata.get(IMAGE_KEY)
        meta = {IMAGE_KEY: like} if like is not None else {}
        self._base = base_geometry(source)
        self._put(role("mask", key), labels, self._base, meta, {"opacity": 0.5},
                  f"{name}{SEP}{ROLES['mask'][0]}")  # fmt: skip
        self.paint()
        return made

    def _put(
        self,
        role_name: str,
        data: np.ndarray,
        geometry: dict[str, Any],
        meta: dict,
        style: dict,
        name: str,
    ) -> None:
        what, key = split_role(role_name)
        kind = ROLES[what][1]
        layer = self.layer(role_name)
        if layer is not None and (layer.data.shape != data.shape or not _same_kind(layer, kind)):
            self.viewer.layers.remove(layer)
            layer = None
        colorbar = style.pop("colorbar", False)
        if layer is None:
            add = self.viewer.add_labels if kind == "labels" else self.viewer.add_image
            contour = style.pop("contour", 0)
            if kind == "labels":
                style = {k: v for k, v in style.items() if k not in ("contrast_limits", "blending")}
            layer = add(data, name=name, metadata={ROLE_KEY: role_name, **meta}, **geometry,
                        **style, visible=what not in HIDDEN_AT_FIRST)  # fmt: skip
            self._painted.pop(id(layer), None)  # a new layer (an old one's id may be reused)
            if contour:
                layer.contour = contour
            if colorbar:
                _show_colorbar(layer)
            if what == "corrupted":
                self._caption(layer, self.colours.get(key))
            if what in LATENT_ROLES:
                layer.events.visible.connect(self._visibility)
            return
        layer.scale, layer.translate = geometry["scale"], geometry["translate"]
        if layer.data is not data:  # the full view after the masks one: the same mask arrays
            layer.data = data
        if layer.name != name and name not in self.viewer.layers:
            layer.name = name
        if kind == "image" and "contrast_limits" in style:
            layer.contrast_limits = style["contrast_limits"]
        if what == "corrupted":
            self._caption(layer, self.colours.get(key))

    def _visibility(self, event: Any) -> None:
        layer = getattr(event, "source", None)
        if layer is not None and layer.visible and self.on_latent_shown is not None:
            self.on_latent_shown()

    @staticmethod
    def _caption(layer: Any, colour: str | None) -> None:
        """The panel's caption: the corrupted input's name (the model's), in its colour."""
        overlay = getattr(layer, "name_overlay", None)  # napari >= 0.6
        if overlay is None:
            return
        overlay.font_size = CAPTION_SIZE
        overlay.box = True
        if colour:
            overlay.color = colour

    def remove(self, role_name: str) -> None:
        """Remove the layer of a role if present."""
        layer = self.layer(role_name)
        if layer is not None:
            self.viewer.layers.remove(layer)

    def remove_all(self) -> None:
        """Remove every explorer layer."""
        for layer in self.all():
            self.viewer.layers.remove(layer)

    def clear(self, keep: Any | None = None) -> None:
        """Remove every explorer layer and napari's grid of side by side: nothing of another
        image stays on screen; the user's image ``keep`` (the one chosen now) is made visible.
        The user's other layers stay as side by side left them (hidden; the stacked mode
        gives them their visibility back)."""
        self.remove_all()
        self.keys = []
        if self._gridded:
            self.viewer.canvas.grid.enabled = self._gridded = False
        if keep is not None and keep in self.viewer.layers:
            self._saved_visibility.pop(id(keep), None)
            keep.visible = True

    def arrange(self, side_by_side: bool) -> None:
        """Grid mode with one panel per model (``1 x n`` up to 3, ``2 x 3`` beyond), or one
        stacked canvas."""
        self.stacked = not side_by_side
        self.paint()
        ours = {lay.metadata[ROLE_KEY]: lay for lay in self.all()}
        keys = [k for k in self.keys if any(split_role(r)[1] == k for r in ours)]
        if not keys:
            return
        others = [lay for lay in self.viewer.layers if ROLE_KEY not in lay.metadata]
        ident = {id(lay): str(id(lay)) for lay in self.viewer.layers}
        cells = [[ident[id(ours[role(w, k)])] for w in ROLES if role(w, k) in ours] for k in keys]
        grid = self.viewer.canvas.grid
        corrupted = [ours[role("corrupted", k)] for k in keys if role("corrupted", k) in ours]
        if side_by_side:
            plan = grid_plan(cells, [ident[id(lay)] for lay in others])
            by_id = {ident[id(lay)]: lay for lay in self.viewer.layers}
            by_id.update(self._spacers(plan.spacers, ours))
            for lay in others:
                self._saved_visibility.setdefault(id(lay), bool(lay.visible))
                lay.visible = False
            self._reorder([by_id[k] for k in plan.order])
            for lay in corrupted:
                lay.visible = True
                lay.name_overlay.visible = True
            grid.stride, grid.shape, grid.enabled = plan.stride, grid_shape(len(keys)), True
            self._gridded = True
            return
        grid.enabled = self._gridded = False
        self._spacers([], ours)
        for lay in others:
            if id(lay) in self._saved_visibility:
                lay.visible = self._saved_visibility.pop(id(lay))
        for i, lay in enumerate(corrupted):
            lay.visible = i == 0
            lay.name_overlay.visible = False
        top = [lay for r, lay in ours.items()
               if lay not in corrupted and not r.startswith(SPACER)]  # fmt: skip
        self._reorder(stacked_order(corrupted, top, others))

    def _spacers(self, names: Sequence[str], ours: dict[str, Any]) -> dict[str, Any]:
        """Make the spacers a grid plan asks for; remove the others."""
        for r, lay in ours.items():
            if r.startswith(SPACER) and r not in names:
                self.viewer.layers.remove(lay)
        made = {}
        ndim = self.viewer.dims.ndim if self._base is None else len(self._base["scale"])
        for name in names:
            lay = ours.get(name) or self.viewer.add_image(
                np.zeros((1,) * ndim, np.float32), name="(grid spacer)", visible=False,
                metadata={ROLE_KEY: name},
                **({} if self._base is None else {"scale": self._base["scale"],
                                                  "translate": self._base["translate"]}),
            )  # fmt: skip
            made[name] = lay
        return made

    def _reorder(self, layers: list[Any]) -> None:
        current = list(self.viewer.layers)
        if current == layers:
            return
        for target, layer in enumerate(layers):
            index = list(self.viewer.layers).index(layer)
            if index != target:
                self.viewer.layers.move(index, target)


def _display(legend: Mapping[str, Any] | None, key: str, mv: Any) -> str:
    info = (legend or {}).get(key)
    return getattr(info, "name", None) or mv.name or key


def _colour(legend: Mapping[str, Any] | None, key: str, mv: Any) -> str:
    info = (legend or {}).get(key)
    return getattr(info, "colour", None) or mv.colour or "#f0f1f2"


def _same_kind(layer: Any, kind: str) -> bool:
    return type(layer).__name__.lower() == kind


def _peak(variance: Any) -> float:
    """The top of a variance map's colour scale (1.0 when it is all zero or absent)."""
    if variance is None or not np.size(variance):
        return 1.0
    peak = float(np.nanmax(variance))
    return peak if np.isfinite(peak) and peak > 0 else 1.0


def _stochastic(kind: str) -> bool:
    """Whether draws of this corruption differ (gamma, blur, JPEG... are deterministic)."""
    from vqseg_core.perturb import get_spec

    try:
        return bool(get_spec(kind).stochastic)
    except (KeyError, ValueError):
        return True


def _show_colorbar(layer: Any) -> None:
    """The layer's colour bar in its grid cell (napari >= 0.5; skipped where unsupported)."""
    colorbar = getattr(layer, "colorbar", None)
    if colorbar is None:
        return
    colorbar.visible = True
    if hasattr(colorbar, "gridded"):
        colorbar.gridded = True


def _red() -> Any:
    from napari.utils.colormaps import DirectLabelColormap

    return DirectLabelColormap(color_dict={None: "transparent", 0: "transparent", 1: "red"})
