"""B6: napari start with the plugin's dock widget opened vs napari start alone.

Two small programs run as fresh processes under one private Xvfb server, alternately: napari
alone (``napari.Viewer()``, Qt events processed, closed) and the same plus
``viewer.window.add_plugin_dock_widget("napari-vqseg", "Robustness Explorer")``. The number is
the seconds the widget adds (median wall time of each process, after one warm-up run of each;
the child's own timing of ``add_plugin_dock_widget`` is kept in the details). Target: <= 1 s.
Check: in a fresh process ``import napari_vqseg`` leaves ``torch`` out of ``sys.modules``.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from typing import Any

from benchmarks.common import result

ID = "B6"
TARGET = 1.0
WIDGET = ("napari-vqseg", "Robustness Explorer")

CHILD = """
import json, sys, time
t0 = time.perf_counter()
import napari
from qtpy.QtWidgets import QApplication
viewer = napari.Viewer()
QApplication.processEvents()
t1 = time.perf_counter()
if {with_widget}:
    viewer.window.add_plugin_dock_widget({plugin!r}, {widget!r})
    QApplication.processEvents()
t2 = time.perf_counter()
torch_loaded = "torch" in sys.modules
viewer.close()
print("RESULT " + json.dumps({{"viewer_s": t1 - t0, "widget_s": t2 - t1, "torch": torch_loaded}}))
"""

PROFILE_CHILD = """
import cProfile, json, pstats, sys
import napari
from qtpy.QtWidgets import QApplication
viewer = napari.Viewer()
QApplication.processEvents()
prof = cProfile.Profile()
prof.enable()
viewer.window.add_plugin_dock_widget({plugin!r}, {widget!r})
QApplication.processEvents()
prof.disable()
viewer.close()
rows = sorted(pstats.Stats(prof).stats.items(), key=lambda kv: kv[1][3], reverse=True)
top = [dict(function=f"{{'/'.join(f.split('/')[-2:])}}:{{line}}({{name}})", cum_s=round(v[3], 3))
       for (f, line, name), v in rows[:40]
       if "vqseg" in f or name in ("<module>",) and "torch" in f]
print("RESULT " + json.dumps({{"top": top[:15]}}))
"""

IMPORT_CHECK = "import sys, napari_vqseg; print('torch' in sys.modules)"


@contextmanager
def xvfb():
    """A private Xvfb server; yields its DISPLAY (``:N``)."""
    exe = shutil.which("Xvfb")
    if exe is None:
        raise RuntimeError("Xvfb not found (apt-get install xvfb; see ../shared/ENVIRONMENT.md)")
    read, write = os.pipe()
    proc = subprocess.Popen(
        [exe, "-displayfd", str(write), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        number = os.read(read, 32).decode().strip()
        if not number:
            raise RuntimeError("Xvfb did not start")
        yield f":{number}"
    finally:
        os.close(read)
        proc.terminate()
        proc.wait(timeout=10)


def _launch(code: str, env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    wall = time.perf_counter() - t0
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"napari child failed ({done.returncode}): {done.stderr[-2000:]}")
    return wall, json.loads(lines[-1][len("RESULT ") :])


def run(quick: bool) -> dict[str, Any]:
    """Seconds added to napari's start by opening the explorer dock widget; torch-free import."""
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    check = subprocess.run(
        [sys.executable, "-c", IMPORT_CHECK], env=env, capture_output=True, text=True, timeout=120
    )
    imports_torch = check.stdout.strip() != "False"
    codes = {
        name: CHILD.format(with_widget=flag, plugin=WIDGET[0], widget=WIDGET[1])
        for name, flag in (("alone", False), ("with_widget", True))
    }
    repeats = 2 if quick else 7
    walls: dict[str, list[float]] = {name: [] for name in codes}
    inner: dict[str, list[dict[str, Any]]] = {name: [] for name in codes}
    with xvfb() as display:
        env["DISPLAY"] = display
        warm = [codes["with_widget"]] if quick else codes.values()  # it imports all of alone's
        for code in warm:  # warm-up (file cache, napari's plugin cache)
            _launch(code, env)
        for _ in range(repeats):
            for name, code in codes.items():
                wall, info = _launch(code, env)
                walls[name].append(round(wall, 4))
                inner[name].append(info)
        profile = None
        if statistics.median(walls["with_widget"]) - statistics.median(walls["alone"]) > TARGET:
            code = PROFILE_CHILD.format(plugin=WIDGET[0], widget=WIDGET[1])
            profile = _launch(code, env)[1]["top"]
    med = {name: statistics.median(ts) for name, ts in walls.items()}
    added = med["with_widget"] - med["alone"]
    widget_s = statistics.median(i["widget_s"] for i in inner["with_widget"])
    accuracy = {
        "import_napari_vqseg_imports_torch": imports_torch,
        "torch_loaded_after_widget_opened": any(i["torch"] for i in inner["with_widget"]),
        "ok": not imports_torch,
    }
    details = {
        "process_wall_s": walls,
        "median_s": med,
        "add_dock_widget_s_in_child": widget_s,
        "child_timings": inner,
        "widget": list(WIDGET),
        "profile_add_dock_widget_cprofile": profile,
    }
    return result(
        ID,
        "napari start + Robustness Explorer dock widget (seconds added)",
        "napari start alone (Viewer under Xvfb)",
        added,
        TARGET,
        accuracy,
        details,
        cmp="<=",
        unit="s",
    )
