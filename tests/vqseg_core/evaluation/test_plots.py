"""Fig. 2-style heatmaps: each network's latent gets its own colour scale, and the title says so."""

from __future__ import annotations

import matplotlib.figure
import numpy as np

from vqseg_core.evaluation.plots import latent_heatmaps

SCALE = {"channel_variance": {"unet": 100.0, "vqunet": 0.01}, "channel_quantized_variance": 0.001}


def _rows() -> list[dict]:
    rows = []
    for case in ("a", "b"):
        for level, factor in ((0.0, 0.0), (10.0, 0.5), (20.0, 1.0)):
            for model in ("unet", "vqunet"):
                base = np.linspace(0.2, 1.0, 8) * factor
                row = {"case_id": case, "model": model, "kind": "gaussian", "level": level,
                       "channel_variance": (base * SCALE["channel_variance"][model]).tolist()}  # fmt: skip
                if model == "vqunet":
                    row["channel_quantized_variance"] = (
                        base * SCALE["channel_quantized_variance"]
                    ).tolist()
                rows.append(row)
    return rows


def test_each_network_has_its_own_colour_scale(tmp_path, monkeypatch) -> None:
    figures = []
    original = matplotlib.figure.Figure.savefig

    def capture(self, *args, **kwargs):
        figures.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", capture)
    path = latent_heatmaps(_rows(), "gaussian", tmp_path / "h.png", n_features=8, title="T")
    assert path.stat().st_size > 1000
    (fig,) = figures
    limits: dict[str, set[float]] = {}
    for ax in fig.axes:
        if ax.images:
            name = ax.get_title().split(" @")[0]
            limits.setdefault(name, set()).add(ax.images[0].get_clim()[1])
    assert limits == {
        "UNet": {100.0},
        "VQ-UNet (raw)": {0.01},
        "VQ-UNet (quantised)": {0.001},
    }
    colour_bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(colour_bars) == 3
    assert "own colour scale" in fig.get_suptitle() and fig.get_suptitle().startswith("T")
