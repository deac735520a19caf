"""The core stays free of GUI packages."""

from __future__ import annotations

import subprocess
import sys

GUI_MODULES = (
    "napari",
    "qtpy",
    "PyQt5",
    "PyQt6",
    "PySide2",
    "PySide6",
    "superqt",
    "magicgui",
    "vispy",
)


def test_importing_the_core_imports_no_gui_module() -> None:
    code = (
        "import sys, vqseg_core, vqseg_core.models, vqseg_core.analysis\n"
        "import pkgutil, importlib\n"
        "for m in pkgutil.walk_packages(vqseg_core.__path__, 'vqseg_core.'):\n"
        "    if '.cli' not in m.name and not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {GUI_MODULES!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"GUI modules imported by vqseg_core: {out.stdout}"


def test_importing_the_core_package_is_cheap() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import sys, vqseg_core; print('torch' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"


def test_listing_bundled_pairs_imports_no_torch() -> None:
    """The explorer lists the pairs when its dock opens: reading the registry needs no torch."""
    code = (
        "import sys\n"
        "from vqseg_core.pretrained import list_pairs\n"
        "names = list_pairs()\n"
        "print('torch' in sys.modules, 'chest-xray' in names)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
