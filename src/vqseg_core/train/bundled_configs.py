"""Configs by name: ``vqseg-train smoke`` as well as ``vqseg-train configs/smoke.yaml``.

The repository's ``configs/`` folder is installed with the wheel (as data files under
``<prefix>/share/napari-vqseg/configs``), so the names work without a checkout. A config chosen
by name reads its relative dataset paths as if it lay in ``./configs/`` of the working
directory: ``chest-xray`` (``dataset: ../data/jsrt``) trains on ``./data/jsrt``, where
``vqseg-data prepare jsrt --out data/jsrt`` puts it. A path to a file works as always (its
relative dataset paths resolve against the file's own folder).
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

__all__ = ["bundled_config_names", "config_roots", "resolve_config"]

_SHARE = Path("share") / "napari-vqseg" / "configs"


def config_roots() -> list[Path]:
    """Folders holding the bundled configs: the checkout's ``configs/`` (an editable install)
    and the installed data files, those that exist."""
    roots = [Path(__file__).resolve().parents[3] / "configs"]
    roots += [Path(sysconfig.get_path("data")) / _SHARE]
    return [r for r in dict.fromkeys(roots) if r.is_dir()]


def bundled_config_names() -> list[str]:
    """Names of the bundled configs (``smoke``, ``chest-xray``, ``paper/chest-xray-2d``, ...)."""
    names: set[str] = set()
    for root in config_roots():
        names |= {
            p.relative_to(root).with_suffix("").as_posix()
            for p in root.rglob("*.yaml")
            if p.relative_to(root).parts[0] != "studies"  # study files, not training configs
        }
    return sorted(names)


def resolve_config(config: str | Path) -> tuple[Path, Path]:
    """``(file, folder its relative dataset paths resolve against)`` of a file or a name.

    Raises:
        ValueError: neither an existing file nor a bundled name (the names are listed).
    """
    path = Path(config)
    if path.exists() or path.suffix in (".yaml", ".yml"):
        return path, path.parent
    name = path.as_posix()
    for root in config_roots():
        candidate = root / f"{name}.yaml"
        if candidate.is_file():
            return candidate, Path.cwd() / "configs" / Path(name).parent
    names = ", ".join(bundled_config_names()) or "none installed"
    raise ValueError(
        f"no config file {config!s} and no bundled config of that name; bundled: {names}"
    )
