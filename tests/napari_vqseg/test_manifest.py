"""The npe2 manifest validates and every python_name imports; the plugin import is light."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import napari_vqseg

MANIFEST = Path(napari_vqseg.__file__).parent / "napari.yaml"


def test_manifest_validates_and_all_python_names_import() -> None:
    from npe2 import PluginManifest

    manifest = PluginManifest.from_file(MANIFEST)
    assert manifest.name == "napari-vqseg"
    commands = manifest.contributions.commands or []
    assert commands and all(c.id.startswith("napari-vqseg.") for c in commands)
    for command in commands:
        module, _, attr = command.python_name.partition(":")
        assert callable(getattr(importlib.import_module(module), attr)), command.python_name
    ids = {c.id for c in commands}
    contribs = manifest.contributions
    used = [r.command for r in contribs.readers] + [w.command for w in contribs.writers]
    used += [w.command for w in contribs.widgets] + [s.command for s in contribs.sample_data]
    assert set(used) <= ids  # npe2 validate does not check widgets point at declared commands


def test_npe2_validate_cli_with_imports() -> None:
    npe2 = Path(sys.executable).with_name("npe2")
    out = subprocess.run(
        [str(npe2), "validate", str(MANIFEST), "--imports"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_importing_the_plugin_does_not_import_torch_or_qt() -> None:
    code = (
        "import sys, napari_vqseg, napari_vqseg.explorer.state, napari_vqseg._reader; "
        "print(sorted(m for m in ('torch', 'qtpy', 'napari') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
