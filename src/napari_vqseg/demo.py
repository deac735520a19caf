"""``vqseg-demo``: napari with a bundled sample, its model set and the Robustness Explorer running.

Interactive::

    vqseg-demo                                          # chest-xray sample + its bundled set
    vqseg-demo --models unet,vqunet,runs/mine/mine.json # the set's models and your own export
    vqseg-demo --models a.json,b.json,c.json            # your own exports only
    vqseg-demo --unet a.json --vqunet b.json            # a pair of exports (earlier versions)

Headless (e.g. under ``xvfb-run -a``): set the controls, wait for the result, save a full-window
screenshot to PATH and a JSON summary (every model's metrics) to PATH with ``.json``, then exit::

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
NO_SET = (
    "no bundled model set {name!r} is installed; pass your own exports with "
    "--models A.json,B.json[,...] or --unet UNET.json --vqunet VQUNET.json (from vqseg-train)"
)
EXPORT_SUFFIXES = (".json", ".safetensors")
SAMPLE_SETS = {"ct-slab": "ct-organs", "chest-xray-cr": "chest-xray"}
"""The bundled set each sample opens with when its name is not itself a set's name."""


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(prog="vqseg-demo", description=__doc__.splitlines()[0])
    p.add_argument("--sample", default=DEFAULT, help="bundled sample to open (default %(default)s)")
    p.add_argument("--set", "--pair", dest="set", default=None,
                   help="bundled model set (default: the sample's own set)")  # fmt: skip
    p.add_argument(
        "--models",
        default=None,
        help="comma-separated models to compare (2-6): member keys of the bundled set (e.g. "
        "unet,vqunet) and/or vqseg-train exports (.json or .safetensors)",
    )
    p.add_argument("--unet", type=Path, help="UNet export (with --vqunet: a pair of exports)")
    p.add_argument("--vqunet", type=Path, help="VQ-UNet export (.json or .safetensors)")
    p.add_argument("--reference", default=None, help="model key others are compared with")
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
    from vqseg_core._version import command_conventions

    return command_conventions(p)


def model_choice(
    args: argparse.Namespace, set_name: str
) -> tuple[str, tuple[str, ...], tuple[str, ...] | None]:
    """``(models, export files, bundled keys or None)`` of the command line's model options.

    Raises:
        ValueError: a usage error (the message says which option).
    """
    from napari_vqseg.explorer.settings import FROM_FILES

    if (args.unet is None) != (args.vqunet is None):
        raise ValueError("pass both --unet and --vqunet")
    if args.unet is not None:
        if args.models:
            raise ValueError("pass either --models or --unet/--vqunet, not both")
        return FROM_FILES, (str(args.unet), str(args.vqunet)), None
    if not args.models:
        return set_name, (), None
    items = [m.strip() for m in args.models.split(",") if m.strip()]
    files = tuple(m for m in items if m.lower().endswith(EXPORT_SUFFIXES) or Path(m).is_file())
    keys = tuple(m for m in items if m not in files)
    if not keys:
        return FROM_FILES, files, None
    return set_name, files, keys


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the exit status (0 ok, 1 failure, 2 usage)."""
    args = build_parser().parse_args(argv)
    from napari_vqseg._sample_data import list_samples, load_sample
    from napari_vqseg.explorer.session import ExplorerSession

    if args.sample not in list_samples():
        return _usage(f"unknown sample {args.sample!r}; bundled: {', '.join(list_samples())}")
    problem = display_problem()
    if problem is not None:
        return _usage(f"error: {problem}")
    layers = load_sample(args.sample)
    session = ExplorerSession()
    try:
        settings = prepare(session, args, layers)
    except ValueError as err:
        return _usage(str(err))
    if settings is None:  # no models: interactive only, the user chooses in the window
        print(f"vqseg-demo: {NO_SET.format(name=_set_name(args))}", file=sys.stderr)
        if args.screenshot is not None:
            return 2

    import napari

    from napari_vqseg.explorer._qt.widget import RobustnessExplorer

    viewer = napari.Viewer(title="napari-vqseg demo")
    viewer.window.resize(1500, 950)
    widget, interactive = None, False
    try:
        for data, kwargs, kind in layers:
            getattr(viewer, f"add_{kind}")(data, **kwargs)
        widget = RobustnessExplorer(viewer, session=session)  # sets the axial view for a volume
        viewer.window.add_dock_widget(widget, name="Robustness Explorer", area="right")
        if settings is not None:
            widget.apply(settings)
        if args.screenshot is None:
            interactive = True
            napari.run()
            return 0
        return shoot(viewer, widget, args)
    finally:
        if not interactive:
            _close_when_idle(viewer, widget)


def _set_name(args: argparse.Namespace) -> str:
    return args.set or SAMPLE_SETS.get(args.sample, args.sample)


def prepare(session: Any, args: argparse.Namespace, layers: list[tuple]) -> Any | None:
    """The explorer settings of the command line, with the models loaded into ``session``
    and the request checked on the sample (``None``: no models to load).

    Raises:
        ValueError: a usage error: unknown set, model key or corruption, an out-of-range
            level (the corruption's own message), models that cannot be loaded.
    """
    from napari_vqseg.explorer._qt.controls import available_devices
    from napari_vqseg.explorer.settings import FROM_FILES, ExplorerSettings
    from vqseg_core.perturb import get_spec
    from vqseg_core.pretrained import list_sets, set_info

    models, files, keys = model_choice(args, _set_name(args))
    if models != FROM_FILES and models not in list_sets():
        if keys is not None or files:
            raise ValueError(NO_SET.format(name=models))
        return None
    kind = args.noise or "gaussian"
    image, gt = layers[0], next((lay for lay in layers[1:] if lay[2] == "labels"), None)
    settings = ExplorerSettings(
        models=models, model_files=files, reference=args.reference, kind=kind,
        level=get_spec(kind).default if args.level is None else args.level, seed=args.seed,
        n_draws=args.draws, device=args.device or available_devices()[0],
        image_layer=image[1]["name"], gt_layer=None if gt is None else gt[1]["name"],
    )  # fmt: skip
    try:
        loaded = session.load_now(settings)
    except Exception as err:  # a missing or corrupt file: tell, do not crash
        raise ValueError(f"cannot load the models: {err}") from err
    if keys is not None:
        bundled = set_info(models).keys
        unknown = [k for k in keys if k not in bundled]
        if unknown:
            raise ValueError(f"set {models!r} has no model {', '.join(unknown)}; its models: "
                             f"{', '.join(bundled)} (or give export files)")  # fmt: skip
        settings = settings.with_(keys=(*keys, *loaded.keys[len(bundled) :]))
    session.request(settings, image[0], image[1].get("scale"))  # the one validation
    return settings


def display_problem(environ: dict[str, str] | None = None) -> str | None:
    """Why a napari window cannot open here (checked before any model is loaded), or ``None``."""
    import importlib.util
    import os

    env = os.environ if environ is None else environ
    if importlib.util.find_spec("napari") is None:
        return (
            "napari is not installed; install the plugin with `pip install 'napari-vqseg[all]'` "
            "(or `pip install napari-vqseg` into an environment that has napari)"
        )
    headless = not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or env.get("QT_QPA_PLATFORM"))
    if sys.platform.startswith("linux") and headless:
        return (
            "no display (DISPLAY is not set); run it under a virtual display: "
            "`xvfb-run -a vqseg-demo --screenshot out/demo.png ...`"
        )
    return None


def _usage(message: str) -> int:
    print(f"vqseg-demo: {message}", file=sys.stderr)
    return 2


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


def shoot(viewer: Any, widget: Any, args: argparse.Namespace) -> int:
    """Wait for the result of the current settings, save screenshot + summary; exit status."""
    from qtpy.QtWidgets import QApplication

    from vqseg_core.reporting import jsonable

    wanted = widget.controls.settings()
    deadline = time.monotonic() + args.timeout

    def ready() -> bool:
        v = widget.view
        return (v is not None and not widget.busy and v.corruption.kind == wanted.kind
                and abs(v.corruption.level - wanted.level) < 1e-6
                and (wanted.keys is None or tuple(v.models) == wanted.keys))  # fmt: skip

    while not ready():
        QApplication.processEvents()
        if time.monotonic() > deadline:
            print(
                f"vqseg-demo: no result within {args.timeout:g} s: {widget.status.text()}",
                file=sys.stderr,
            )
            return 1
        time.sleep(0.02)
    viewer.reset_view()
    for _ in range(20):  # let the canvas draw
        QApplication.processEvents()
        time.sleep(0.01)
    import skimage.io

    args.screenshot.parent.mkdir(parents=True, exist_ok=True)
    shot = viewer.screenshot(canvas_only=False, flash=False)
    skimage.io.imsave(args.screenshot, shot, check_contrast=False)
    summary = jsonable(summarize(viewer, widget, args, shot.shape))
    args.screenshot.with_suffix(".json").write_text(
        json.dumps(summary, indent=2, allow_nan=False), encoding="utf-8"
    )
    print(f"vqseg-demo: wrote {args.screenshot} and {args.screenshot.with_suffix('.json')}")
    return 0


def summarize(viewer: Any, widget: Any, args: argparse.Namespace, shape: tuple) -> dict[str, Any]:
    """The JSON summary: the set, every compared model's metrics, layers, device, corruption."""
    from napari_vqseg.explorer.report import latent_rows, metric_rows

    session = widget.session
    view, models, s = widget.view, session.loaded(), session.settings
    legend = session.legend()
    grid = viewer.canvas.grid
    return {
        "sample": args.sample,
        "models": None if models is None else {
            "name": models.name, "id": models.id,
            "members": [{"key": m.key, "name": legend[m.key].name, "kind": m.kind,
                         "colour": m.colour, "sha256": m.sha256, "file": m.info.get("file")}
                        for m in models],
        },
        "compared": list(view.models),
        "reference": view.reference,
        "device": s.device,
        "corruption": view.corruption.to_dict(),
        "n_draws": view.n_draws,
        "layers": [
            {"name": lay.name, "type": type(lay).__name__, "shape": list(lay.data.shape),
             "scale": [float(x) for x in lay.scale], "visible": bool(lay.visible)}
            for lay in viewer.layers
        ],
        "grid": {"enabled": bool(grid.enabled), "shape": list(grid.shape)},
        "metrics": metric_rows(view, legend),
        "latent": latent_rows(view, s.latent, legend),
        "screenshot": {"path": str(args.screenshot), "shape": list(shape)},
    }  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
