"""Light installs by role: the core, its commands and the library run without napari or Qt.

The package's requirements are what the core imports; the plugin's packages are the ``napari``
extra. Here a fresh interpreter is denied every GUI package (an import hook raises
``ModuleNotFoundError`` for them, as in a virtual environment without the extra) and still
imports every ``vqseg_core`` module, prints the commands' help and trains the smoke config.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUI = ("napari", "npe2", "magicgui", "qtpy", "superqt", "PyQt5", "PyQt6", "PySide2", "PySide6",
       "vispy", "app_model")  # fmt: skip

_BLOCK = f"""
import importlib.abc, sys
class _NoGui(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {GUI!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked: no napari extra)")
        return None
sys.meta_path.insert(0, _NoGui())
"""


def _run(code: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _BLOCK + code],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower() for r in requirements}


def test_core_requirements_hold_no_gui_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = _names(project["dependencies"])
    assert {"torch", "monai", "safetensors", "nibabel", "simpleitk"} <= core
    assert not core & {g.lower() for g in GUI}
    assert {"napari", "qtpy", "superqt"} <= _names(project["optional-dependencies"]["napari"])


def test_every_core_module_imports_without_the_gui() -> None:
    code = """
import importlib, pkgutil, vqseg_core
names = [m.name for m in pkgutil.walk_packages(vqseg_core.__path__, "vqseg_core.")
         if not m.name.endswith("__main__")]
for name in names:
    importlib.import_module(name)
print(len(names))
"""
    out = _run(code)
    assert out.returncode == 0, out.stderr[-3000:]
    assert int(out.stdout.strip()) > 100


def test_the_commands_run_without_the_gui(tmp_path: Path) -> None:
    code = f"""
import contextlib, io, sys
from vqseg_core.cli import data, eval, study, train
for main in (train.main, eval.main, data.main, study.main):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        try:
            main(["--help"])
        except SystemExit as done:
            assert done.code == 0, done.code
    assert "usage:" in buf.getvalue()
sys.exit(train.main([{str(ROOT / "configs" / "smoke.yaml")!r}, "--set", "schedule.steps=4",
                     "--set", "schedule.val_every=4", "--set", "logging.progress=false",
                     "--out", {str(tmp_path / "smoke")!r}]))
"""
    out = _run(code)
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / "smoke" / "log.jsonl").is_file()


def test_the_gui_block_is_real() -> None:
    out = _run("import napari")
    assert out.returncode != 0 and "blocked: no napari extra" in out.stderr
