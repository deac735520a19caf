"""The explorer's napari layers: made once, updated in place on every result (no Qt here).

Each layer carries its role in ``layer.metadata["vqseg_role"]`` so it is found again even if the
user renames it; a deleted layer is made again on the next result. Input-grid layers copy the
analysed image layer's ``scale`` / ``translate``; latent maps add the view's ``latent_scale`` and
``latent_translate`` (input pixels per latent cell, centre of cell 0).

On a volume under a 2D slice model the latent maps are those of one axial slice (the one on
screen when the run started): ``(h, w, 1)`` layers placed at that slice, named
``"... (slice N)"``, so they show on that slice only. While a volume runs, :meth:`show_partial`
puts each model's mask in as soon as the slice on screen is final.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from napari_vqseg._layers import IMAGE_KEY
from napari_vqseg.explorer.layout import grid_plan, stacked_order

if TYPE_CHECKING:
    import napari

ROLE_KEY = "vqseg_role"
MODEL_LABEL = {"unet": "UNet", "vqunet": "VQ-UNet"}
# role: (layer name, layer type, grid cell); cells are listed bottom layer first
ROLES: dict[str, tuple[str, str, str]] = {
    "corrupted:unet": ("UNet: corrupted image", "image", "unet"),
    "latent:unet": ("UNet: latent variance", "image", "unet"),
    "disagreement": ("disagreement (UNet vs VQ-UNet)", "labels", "unet"),
    "mask:unet": ("UNet: mask", "labels", "unet"),
    "gt:unet": ("UNet: ground truth", "labels", "unet"),
    "corrupted:vqunet": ("VQ-UNet: corrupted image", "image", "vqunet"),
    "latent:vqunet": ("VQ-UNet: latent variance", "image", "vqunet"),
    "codes:vqunet": ("VQ-UNet: codebook assignment", "labels", "vqunet"),
    "flips:vqunet": ("VQ-UNet: code flips", "image", "vqunet"),
    "mask:vqunet": ("VQ-UNet: mask", "labels", "vqunet"),
    "gt:vqunet": ("VQ-UNet: ground truth", "labels", "vqunet"),
}
HIDDEN_AT_FIRST = ("latent:unet", "latent:vqunet", "codes:vqunet", "flips:vqunet", "disagreement")
LATENT_ROLES = ("latent:unet", "latent:vqunet", "codes:vqunet", "flips:vqunet")


def base_geometry(source: Any) -> dict[str, Any]:
    """``scale``, ``translate``, ``units``, ``axis_labels`` of the analysed image layer."""
    return {"scale": np.asarray(source.scale, dtype=float),
            "translate": np.asarray(source.translate, dtype=float),
            "units": source.units, "axis_labels": source.axis_labels}  # fmt: skip


class ExplorerLayers:
    """Creates, updates and arranges the explorer's layers in one viewer."""

    def __init__(self, viewer: napari.Viewer) -> None:
        self.viewer = viewer
        self._saved_visibility: dict[int, bool] = {}

    def layer(self, role: str) -> Any | None:
        """The viewer's layer of ``role``, or ``None``."""
        for layer in self.viewer.layers:
            if layer.metadata.get(ROLE_KEY) == role:
                return layer
        return None

    def all(self) -> list[Any]:
        """Every explorer layer now in the viewer."""
        return [lay for lay in self.viewer.layers if ROLE_KEY in lay.metadata]

    def show(self, view: Any, source: Any, gt: Any | None = None) -> list[str]:
        """Put a :class:`~vqseg_core.robustness.RobustnessView` into the layers; returns roles shown."""
        base = base_geometry(source)
        scale, translate = base["scale"], base["translate"]
        suffix = (
            "" if getattr(view, "latent_slice", None) is None else f" (slice {view.latent_slice})"
        )
        lat_scale = scale * np.asarray(view.latent_scale, dtype=float)
        lat = {**base, "scale": lat_scale,
               "translate": translate + scale * np.asarray(view.latent_translate or 0.0, dtype=float)}  # fmt: skip
        like = source.metadata.get(IMAGE_KEY)
        meta = {IMAGE_KEY: like} if like is not None else {}
        shown: list[str] = []

        def put(role: str, data: np.ndarray | None, geometry: dict[str, Any], **style: Any) -> None:
            if data is None:
                self.remove(role)
                return
            name = ROLES[role][0] + (suffix if role in LATENT_ROLES else "")
            self._put(role, data, geometry, meta if geometry is base else {}, style, name)
            shown.append(role)

        peak = max([float(np.nanmax(m.latent_variance)) for m in view.models.values()
                    if m.latent_variance is not None and m.latent_variance.size] or [0.0])  # fmt: skip
        for key in ("unet", "vqunet"):
            model = view.models[key]
            put(
                f"corrupted:{key}",
                view.corrupted,
                base,
                colormap="gray",
                contrast_limits=(0.0, 1.0),
            )
            put(f"latent:{key}", model.latent_variance, lat, colormap="inferno",
                contrast_limits=(0.0, peak or 1.0), opacity=0.6, blending="additive")  # fmt: skip
            put(f"mask:{key}", model.labels, base, opacity=0.5)
            put(
                f"gt:{key}",
                None if gt is None else np.asarray(gt.data),
                base,
                contour=1,
                opacity=0.9,
            )
        vq = view.models["vqunet"]
        codes = None if vq.indices is None else (np.asarray(vq.indices, dtype=np.int32) + 1)
        put("codes:vqunet", codes, lat, opacity=0.6)
        put("flips:vqunet", vq.flip_map, lat, colormap="magma", contrast_limits=(0.0, 1.0),
            opacity=0.7, blending="additive")  # fmt: skip
        put("disagreement", view.disagreement.astype(np.uint8), base, opacity=0.8, colormap=_red())
        return shown

    def show_partial(self, model: str, labels: np.ndarray, source: Any) -> bool:
        """Put one model's mask of a volume still running in; True if a layer was made."""
        made = self.layer(f"mask:{model}") is None
        like = source.metadata.get(IMAGE_KEY)
        meta = {IMAGE_KEY: like} if like is not None else {}
        self._put(f"mask:{model}", labels, base_geometry(source), meta, {"opacity": 0.5})
        return made

    def _put(
        self,
        role: str,
        data: np.ndarray,
        geometry: dict[str, Any],
        meta: dict,
        style: dict,
        name: str | None = None,
    ) -> None:
        default, kind, _cell = ROLES[role]
        name = name or default
        layer = self.layer(role)
        if layer is not None and (layer.data.shape != data.shape or not _same_kind(layer, kind)):
            self.viewer.layers.remove(layer)
            layer = None
        if layer is None:
            add = self.viewer.add_labels if kind == "labels" else self.viewer.add_image
            contour = style.pop("contour", 0)
            if kind == "labels":
                style = {k: v for k, v in style.items() if k not in ("contrast_limits", "blending")}
            layer = add(data, name=name, metadata={ROLE_KEY: role, **meta}, **geometry, **style,
                        visible=role not in HIDDEN_AT_FIRST)  # fmt: skip
            if contour:
                layer.contour = contour
            return
        layer.scale, layer.translate = geometry["scale"], geometry["translate"]
        layer.data = data
        if role in LATENT_ROLES and layer.name != name and name not in self.viewer.layers:
            layer.name = name
        if "contrast_limits" in style and kind == "image":
            layer.contrast_limits = style["contrast_limits"]

    def remove(self, role: str) -> None:
        """Remove the layer of ``role`` if present."""
        layer = self.layer(role)
        if layer is not None:
            self.viewer.layers.remove(layer)

    def remove_all(self) -> None:
        """Remove every explorer layer."""
        for layer in self.all():
            self.viewer.layers.remove(layer)

    def arrange(self, side_by_side: bool) -> None:
        """Grid mode with the UNet and VQ-UNet layers in two cells, or one stacked canvas."""
        ours = {lay.metadata[ROLE_KEY]: lay for lay in self.all()}
        if not ours:
            return
        others = [lay for lay in self.viewer.layers if ROLE_KEY not in lay.metadata]
        key = {id(lay): str(id(lay)) for lay in self.viewer.layers}
        by_key = {key[id(lay)]: lay for lay in self.viewer.layers}
        cells = [[key[id(ours[r])] for r, spec in ROLES.items() if spec[2] == cell and r in ours]
                 for cell in ("unet", "vqunet")]  # fmt: skip
        grid = self.viewer.canvas.grid
        if side_by_side:
            plan = grid_plan(cells, [key[id(lay)] for lay in others])
            for lay in others:
                self._saved_visibility.setdefault(id(lay), bool(lay.visible))
                lay.visible = False
            self._reorder([by_key[k] for k in plan.order])
            if "corrupted:vqunet" in ours:
                ours["corrupted:vqunet"].visible = True
            grid.stride, grid.shape, grid.enabled = plan.stride, (1, 2), True
        else:
            grid.enabled = False
            for lay in others:
                if id(lay) in self._saved_visibility:
                    lay.visible = self._saved_visibility.pop(id(lay))
            bottom = [ours[r] for r in ("corrupted:vqunet", "corrupted:unet") if r in ours]
            top = [lay for r, lay in ours.items() if not r.startswith("corrupted")]
            if "corrupted:vqunet" in ours:
                ours["corrupted:vqunet"].visible = False
            self._reorder(stacked_order(bottom, top, others))

    def _reorder(self, layers: list[Any]) -> None:
        current = list(self.viewer.layers)
        if current == layers:
            return
        for target, layer in enumerate(layers):
            index = list(self.viewer.layers).index(layer)
            if index != target:
                self.viewer.layers.move(index, target)


def _same_kind(layer: Any, kind: str) -> bool:
    return type(layer).__name__.lower() == kind


def _red() -> Any:
    from napari.utils.colormaps import DirectLabelColormap

    return DirectLabelColormap(color_dict={None: "transparent", 0: "transparent", 1: "red"})
