"""Model sets of the explorer (no Qt): composing a set from bundled names and export files,
and how each member is shown (display names made distinct, colours)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

SetSource = tuple[str | None, tuple[str, ...]]
"""Where a set comes from: a bundled (or offered) set name, and export files added to it."""


@dataclass(frozen=True)
class MemberInfo:
    """How one model is shown: its key, a display name distinct within the set, a colour."""

    key: str
    name: str
    colour: str


def compose_set(name: str | None, files: Sequence[str] = ()) -> Any:
    """The set of a :data:`SetSource`: a bundled set, exports, or a bundled set plus exports.

    Exports added to a bundled set get a key, display name and colour of their own when the
    set already uses theirs (an export of a VQ-UNet beside the bundled VQ-UNet is named after
    its file: key and name ``"cb-ema-restart"``).

    Raises:
        ValueError: an unknown set name, more than 6 models, or mixed image dimensionality.
        CheckpointError: a missing or corrupt weight file.
    """
    from vqseg_core.modelset import ModelSet, member_from_export, set_from_files
    from vqseg_core.pretrained import load_set

    if name is None:
        return _distinct(set_from_files(list(files)))
    base = load_set(name)
    if not files:
        return base
    members = list(base.members)
    for path in files:
        members.append(member_from_export(path, position=len(members)))
    stems = "+".join(Path(p).stem for p in files)
    return _distinct(ModelSet(f"{name}+{stems}", tuple(_unique(members)), dict(base.info)))


def legend_of(model_set: Any) -> dict[str, MemberInfo]:
    """``{key: MemberInfo}``: display names made distinct with the key when two are equal."""
    names = [m.name for m in model_set]
    return {m.key: MemberInfo(m.key, m.name if names.count(m.name) == 1 else f"{m.name} ({m.key})",
                              m.colour) for m in model_set}  # fmt: skip


def describe(source: SetSource) -> str:
    """A source for the user: ``"chest-xray + a.json"``."""
    name, files = source
    return " + ".join([*([name] if name else []), *(Path(f).name for f in files)])


def _unique(members: list[Any]) -> list[Any]:
    """Later members whose key, name or colour is taken get their own (the file name's)."""
    from vqseg_core.modelset import PALETTE
    from vqseg_core.modelset.member import slug_key

    out: list[Any] = []
    for m in members:
        stem = Path(str(m.info.get("file", m.key))).stem
        keys, names, colours = {o.key for o in out}, {o.name for o in out}, {o.colour for o in out}
        key = m.key if m.key not in keys else slug_key(stem)
        while key in keys:
            key = slug_key(f"{key}-{len(out) + 1}")
        name = m.name if m.name not in names else stem
        while name in names:
            name = f"{name} ({key})"
        free = [c for c in PALETTE if c not in colours]
        colour = m.colour if m.colour not in colours or not free else free[0]
        out.append(m if (key, name, colour) == (m.key, m.name, m.colour)
                   else replace(m, key=key, name=name, colour=colour))  # fmt: skip
    return out


def _distinct(model_set: Any) -> Any:
    members = _unique(list(model_set.members))
    if all(a is b for a, b in zip(members, model_set.members, strict=True)):
        return model_set
    return type(model_set)(model_set.name, tuple(members), dict(model_set.info))
