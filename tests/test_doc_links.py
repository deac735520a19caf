"""Every relative link in the README and the docs points at a file that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(
    [
        ROOT / "README.md",
        ROOT / "CHANGELOG.md",
        *(ROOT / "docs").rglob("*.md"),
        *(ROOT / "benchmarks").rglob("*.md"),
        *(ROOT / "src").rglob("*.md"),
    ]
)
_LINK = re.compile(r"\]\(([^)\s]+)\)|<img[^>]+src=\"([^\"]+)\"")
#: repository paths written in backticks, e.g. `docs/results/seeds/README.md`
_PATH = re.compile(r"`((?:docs|scripts|configs|benchmarks)/[\w./-]+\.(?:md|py|sh|yaml|png|csv))`")


def _targets(page: Path) -> list[tuple[str, Path]]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    found = []
    for match in _LINK.finditer(text):
        link = match.group(1) or match.group(2)
        if re.match(r"[a-z][a-z0-9+.-]*:", link) or link.startswith("#"):
            continue
        found.append((link, page.parent / link.split("#")[0]))
    for match in _PATH.finditer(text):
        found.append((match.group(1), ROOT / match.group(1)))
    return found


@pytest.mark.parametrize(
    "page", [p for p in PAGES if p.exists()], ids=lambda p: str(p.relative_to(ROOT))
)
def test_relative_links_resolve(page: Path) -> None:
    broken = [link for link, target in _targets(page) if not target.exists()]
    assert not broken, f"{page.relative_to(ROOT)} links to missing files: {broken}"


def test_the_link_check_sees_links() -> None:
    links = _targets(ROOT / "README.md")
    assert len(links) > 20


RAW = "https://raw.githubusercontent.com/napari-vqseg/napari-vqseg/main/"


def test_readme_images_are_absolute_and_exist_in_the_repository() -> None:
    """The README is the package's long description on PyPI and the napari hub, where a
    relative image link breaks: images point at the repository's raw files (which exist here)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    images = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", text)
    assert len(images) >= 4
    assert all(link.startswith(RAW) for link in images), images
    missing = [link for link in images if not (ROOT / link[len(RAW) :]).is_file()]
    assert not missing, missing
