"""The licence files say the truth about what the package bundles."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "src" / "vqseg_core" / "data" / "samples"
WEIGHTS = ROOT / "src" / "vqseg_core" / "pretrained" / "weights"


def _bundled_data_files() -> list[str]:
    """Every non-Python file shipped under the samples and weights folders (as NOTICE names it)."""
    names = [
        str(p.relative_to(SAMPLES))
        for p in SAMPLES.glob("*/*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and p.parent.name != "__pycache__"
    ]
    names += [p.name for p in WEIGHTS.iterdir() if p.is_file() and p.suffix != ".py"]
    return sorted(names)


def test_notice_names_every_bundled_file() -> None:
    notice = (ROOT / "NOTICE").read_text(encoding="utf-8")
    files = _bundled_data_files()
    assert len(files) >= 20  # the samples and weights are really there
    missing = [name for name in files if not re.search(rf"(?<![\w/-]){re.escape(name)}", notice)]
    assert not missing, f"bundled files not listed in NOTICE: {missing}"


def test_every_sample_folder_carries_its_licence() -> None:
    folders = [p for p in SAMPLES.iterdir() if p.is_dir() and not p.name.startswith("_")]
    assert folders
    for folder in folders:
        assert (folder / "LICENSE.txt").is_file(), folder


def test_pyproject_ships_licence_files() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "BSD-3-Clause"
    assert set(project["license-files"]) >= {"LICENSE", "NOTICE"}
    assert "BSD 3-Clause" in (ROOT / "LICENSE").read_text(encoding="utf-8")


def test_citation_file_cites_the_paper() -> None:
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"].startswith("1.2")
    paper = cff["references"][0]
    assert paper["title"] == "Vector Quantisation for Robust Segmentation"
    assert paper["year"] == 2022
    assert "2207.01919" in str(paper["identifiers"])
    assert cff["license"] == "BSD-3-Clause"


def test_one_version_everywhere() -> None:
    import importlib.metadata

    import napari_vqseg
    import vqseg_core
    from vqseg_core._version import __version__

    assert vqseg_core.__version__ == napari_vqseg.__version__ == __version__
    assert importlib.metadata.version("napari-vqseg") == __version__
    assert f"({__version__})" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8") or (
        f"[{__version__}]" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    )
    assert "version" in tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dynamic"]
