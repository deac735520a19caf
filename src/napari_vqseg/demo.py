"""``vqseg-demo``: napari with a bundled sample, a model pair and the Robustness Explorer running.

Interactive::

    vqseg-demo                                   # chest-xray sample + bundled chest-xray pair
    vqseg-demo --unet a.json --vqunet b.json     # your own exports

Headless (e.g. under ``xvfb-run -a``): set the controls, wait for the result, save a full-window
screenshot to PATH and a JSON summary to PATH with ``.json``, then exit::

    vqseg-demo --sample chest-xray --noise gaussian --level 20 --screenshot shot.png
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

DEFAULT = "chest-xray"
NO_PAIR = (
    "no bundled model pair {name!r} is installed; pass your own exports with "
    "--unet UNET.json --vqunet VQUNET.json (from vqseg-train)"
)


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(prog="vqseg-demo", description=__doc__.splitlines()[0])
    p.add_argument("--sample", default=DEFAULT, help="bundled sample to open (default %(default)s)")
    p.add_argument(
        "--pair", default=None, help="bundled model pair (default: the sample's own pair)"
    )
    p.add_argument(
        "--unet", type=Path, help="UNet export (.json or .safetensors) instead of a bundled pair"
    )
    p.add_argument("--vqunet", type=Path, help="VQ-UNet export (.json or .safetensors)")
    p.add_argument(
        "--noise", default=None, help="corruption kind, e.g. gaussian, salt_and_pepper, poisson"
    )
    p.add_argument("--level", type=float, default=None, help="corruption level in the kind's units")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--draws", type=int, default=4, help="noise draws (latent variance, code flips)")
    p.add_argument("--device", default=None, help="cpu, cuda or mps (default: the best available)")
    p.add_argument(
        "--screenshot", type=Path, help="save a screenshot and a JSON summary here, then exit"
    )
    p.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for the result (headless)"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the exit status (0 ok, 1 failure, 2 usage)."""
    args = build_parser().parse_args(argv)
    if (args.unet is None) != (args.vqunet is None):
        print("vqseg-demo: pass both --unet and --vqunet", file=sys.stderr)
        return 2
    from napari_vqseg._sample_data import list_samples, load_sample
    from vqseg_core.pretrained import list_pairs

    if args.sample not in list_samples():
        print(
            f"vqseg-demo: unknown sample {args.sample!r}; bundled: {', '.join(list_samples())}",
            file=sys.stderr,
        )
        return 2
    pair_name = args.pair or SAMPLE_PAIRS.get(args.sample, args.sample)
    if args.unet is None and pair_name not in list_pairs():
        print(f"vqseg-demo: {NO_PAIR.format(name=pair_name)}", file=sys.stderr)
        if args.screenshot is not None:
            return 2

    import napari

    from napari_vqseg.explorer._qt.widget import RobustnessExplorer

    viewer = napari.Viewer(title="napari-vqseg demo")
    viewer.window.resize(1500, 950)
    try:
        for data, kwargs, kind in load_sample(args.sample):
            getattr(viewer, f"add_{kind}")(data, **kwargs)
        widget = RobustnessExplorer(viewer)  # sets the axial view for a volume
        viewer.window.add_dock_widget(widget, name="Robustness Explorer", area="right")
        configure(widget, args, pair_name)
        if args.screenshot is None:
            napari.run()
            return 0
        return shoot(viewer, widget, args)
    finally:
        if args.screenshot is not None:
            _close_when_idle(viewer, widget if "widget" in locals() else None)


def _close_when_idle(viewer: Any, widget: Any, wait_s: float = 60.0) -> None:
    """Cancel running work, let the workers return, then close (a worker still running when
    the process exits aborts it: Qt destroys a running thread)."""
    from qtpy.QtCore import QThreadPool
    from qtpy.QtWidgets import QApplication

    if widget is not None:
        widget.cancel()
    pool = QThreadPool.globalInstance()
    deadline = time.monotonic() + wait_s
    while pool.activeThreadCount() and time.monotonic() < deadline:
        QApplication.processEvents()
        pool.waitForDone(50)
    viewer.close()


SAMPLE_PAIRS = {"ct-slab": "ct-organs", "chest-xray-cr": "chest-xray"}
"""The bundled pair each sample opens with when its name is not itself a pair's name."""


def configure(widget: Any, args: argparse.Namespace, pair_name: str) -> None:
    """Set the explorer's controls from the command line."""
    c = widget.controls
    c.draws.setValue(args.draws)
    c.seed.setValue(args.seed)
    if args.device:
        c.device.setCurrentText(args.device)
    if args.noise:
        index = c.kind.findData(args.noise)
        if index < 0:
            raise SystemExit(f"vqseg-demo: unknown or unsupported corruption {args.noise!r}")
        c.kind.setCurrentIndex(index)
    if args.level is not None:
        c.level.setValue(args.level)
    if args.unet is not None:
        c.set_pair_files(str(args.unet), str(args.vqunet))
    elif c.pair.findText(pair_name) >= 0:
        c.pair.setCurrentText(pair_name)
    widget.schedule()


def shoot(viewer: Any, widget: Any, args: argparse.Namespace) -> int:
    """Wait for the result of the current settings, save screenshot + summary; exit status."""
    from qtpy.QtWidgets import QApplication

    wanted = widget.controls.settings()
    deadline = time.monotonic() + args.timeout

    def ready() -> bool:
        v = widget.view
        return (v is not None and not widget.busy and v.corruption.kind == wanted.kind
                and abs(v.corruption.level - wanted.level) < 1e-6)  # fmt: skip

    while not ready():
        QApplication.processEvents()
        if time.monotonic() > deadline:
            print(
                f"vqseg-demo: no result within {args.timeout:g} s: {widget.status.text()}",
                file=sys.stderr,
            )
            return 1
        time.sleep(0.02)
    for _ in range(20):  # let the canvas draw
        QApplication.processEvents()
        time.sleep(0.01)
    import skimage.io

    args.screenshot.parent.mkdir(parents=True, exist_ok=True)
    shot = viewer.screenshot(canvas_only=False, flash=False)
    skimage.io.imsave(args.screenshot, shot, check_contrast=False)
    summary = summarize(viewer, widget, args, shot.shape)
    args.screenshot.with_suffix(".json").write_text(
        json.dumps(summary, indent=2, default=_num), encoding="utf-8"
    )
    print(f"vqseg-demo: wrote {args.screenshot} and {args.screenshot.with_suffix('.json')}")
    return 0


def summarize(viewer: Any, widget: Any, args: argparse.Namespace, shape: tuple) -> dict[str, Any]:
    """The JSON summary: layers, metrics of both models, device, corruption, pair."""
    from napari_vqseg.explorer.report import latent_rows, metric_rows

    view, pair, s = widget.view, widget.current_pair(), widget.controls.settings()
    return {
        "sample": args.sample,
        "pair": None if pair is None else {"name": pair.name, "sha256": pair.sha256},
        "device": s.device,
        "corruption": view.corruption.to_dict(),
        "n_draws": view.n_draws,
        "layers": [
            {
                "name": lay.name,
                "type": type(lay).__name__,
                "shape": list(lay.data.shape),
                "scale": [float(x) for x in lay.scale],
                "visible": bool(lay.visible),
            }
            for lay in viewer.layers
        ],
        "grid": bool(viewer.canvas.grid.enabled),
        "metrics": metric_rows(view),
        "latent": latent_rows(view),
        "screenshot": {"path": str(args.screenshot), "shape": list(shape)},
    }


def _num(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
