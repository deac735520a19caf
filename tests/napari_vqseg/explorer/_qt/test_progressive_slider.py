"""A slider move through the real widget: masks and metrics first, latent maps after them, and no
latent work while every latent layer is hidden (#13 item 1)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from napari_vqseg.explorer.layers import LATENT_ROLES, ROLE_KEY, split_role

pytestmark = pytest.mark.gui


def latent_layers(widget):
    return [
        lay for lay in widget.layers.all() if split_role(lay.metadata[ROLE_KEY])[0] in LATENT_ROLES
    ]


def settle(qtbot, widget, level, state):
    qtbot.waitUntil(lambda: widget.view is not None and widget.view.corruption.level == level
                    and widget.view.latent_state == state and not widget.busy, timeout=60000)  # fmt: skip


def count_encoder_calls(models, monkeypatch):
    calls: list[str] = []
    for member in models:
        real = member.model.encode
        monkeypatch.setattr(member.model, "encode",
                            lambda x, real=real, key=member.key: calls.append(key) or real(x))  # fmt: skip
    return calls


def test_masks_update_before_the_latent_layers(explorer, qtbot) -> None:
    viewer = explorer.viewer
    assert explorer.view.latent_state == "done"  # the first result makes the latent layers
    viewer.layers["VQ-UNet · latent variance"].visible = True  # a latent layer on screen
    events: list[tuple[str, float, str]] = []
    for lay in explorer.layers.all():
        what, key = split_role(lay.metadata[ROLE_KEY])
        if what == "mask" or what in LATENT_ROLES:
            lay.events.data.connect(lambda _e, r=f"{what}:{key}": events.append(
                (r, time.monotonic(), explorer.status.text())))  # fmt: skip
    before = {k: mv.latent_variance.copy() for k, mv in explorer.view.models.items()}
    explorer.controls.level.setValue(25.0)
    settle(qtbot, explorer, 25.0, "done")
    masks = [t for r, t, _ in events if r.startswith("mask:")]
    latents = [(t, status) for r, t, status in events if not r.startswith("mask:")]
    assert len(masks) == 2 and latents  # both masks, then the latent layers
    assert max(masks) < min(t for t, _ in latents)
    assert all("computing latents..." in status for _, status in latents)  # said meanwhile
    for key, mv in explorer.view.models.items():  # the latents did follow the new level
        assert not np.array_equal(mv.latent_variance, before[key])
    assert (
        explorer.metrics.values["vqunet"]["flip_rate"] == explorer.view.models["vqunet"].flip_rate
    )


def test_hidden_latent_layers_skip_latent_work_until_one_is_shown(
    explorer, tiny_pair, qtbot, monkeypatch
) -> None:
    viewer = explorer.viewer
    assert latent_layers(explorer) and not any(lay.visible for lay in latent_layers(explorer))
    calls = count_encoder_calls(tiny_pair, monkeypatch)
    explorer.controls.level.setValue(30.0)
    settle(qtbot, explorer, 30.0, "skipped")
    assert calls == []  # no encoder pass, no latent job
    assert not explorer.view.models["vqunet"].latents
    cells = [explorer.metrics.item(0, c).text() for c in range(explorer.metrics.columnCount())]
    assert "hidden" in cells
    assert all(lay.data.size for lay in latent_layers(explorer))  # kept, only not recomputed
    # showing a latent layer computes the maps of the level on screen
    viewer.layers["VQ-UNet · code flips"].visible = True
    settle(qtbot, explorer, 30.0, "done")
    assert calls and explorer.view.models["vqunet"].flip_map is not None
    # a revisit of that level while they are hidden again comes from the cache, with the maps
    viewer.layers["VQ-UNet · code flips"].visible = False
    n = len(calls)
    explorer.controls.level.setValue(15.0)
    settle(qtbot, explorer, 15.0, "skipped")
    explorer.controls.level.setValue(30.0)
    settle(qtbot, explorer, 30.0, "done")
    assert len(calls) == n


def test_a_new_image_makes_its_latent_layers_even_while_they_were_hidden(explorer, qtbot) -> None:
    viewer = explorer.viewer
    assert not any(lay.visible for lay in latent_layers(explorer))
    shifted, first = np.roll(viewer.layers["discs"].data, 7, axis=1), explorer.view
    viewer.add_image(shifted, name="another case", scale=(0.5, 0.5))  # the old results leave
    qtbot.waitUntil(lambda: explorer.view is not None and explorer.view is not first
                    and not explorer.busy
                    and explorer.view.latent_state == "done", timeout=60000)  # fmt: skip
    assert latent_layers(explorer)  # made again (hidden), so that they can be shown
    assert explorer.view.models["vqunet"].flip_map is not None
