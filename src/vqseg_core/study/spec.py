"""A study: arms (training-config overrides) x seeds, trained the same way, evaluated the same way.

A study file (YAML) names a base training config, the overrides every arm shares (the regime),
one block of overrides per arm, the seeds, and what to evaluate::

    name: vq-chest128
    base: ../chest-xray.yaml           # relative to this file
    seeds: [1, 2, 3, 4, 5]
    set: {data.dataset: ../../data/jsrt128, schedule.steps: 600}
    reference: unet                    # differences are taken against this arm
    archive: ../../docs/results/vq-study/runs   # optional: a committed record per run
    arms:
      unet: {label: UNet, set: {model.kind: unet}}
      vq: {label: VQ-UNet (healthy codebook), set: {model.codebook_preset: healthy}}
      vqpe: {label: PE-bug control, wave: 2, set: {model.positional_encoding: replace}}
    evaluate:
      kinds: [gaussian, salt_and_pepper, poisson]
      levels: [0, 1, 5, 10, 20, 30]
      probe_levels: [10, 30]           # the mechanism probes' levels (default: levels)
      shift: [{name: montgomery_shenzhen, dataset: ../../data/montgomery_shenzhen}]

Dataset paths (``data.dataset`` and ``evaluate.shift[].dataset``) are relative to the study
file. Run ``<arm>`` of seed ``s`` lives in ``<out>/runs/<arm>-s<s>/``. With ``archive`` (relative
to the study file), every evaluated run also leaves ``<archive>/<arm>-s<s>.json.gz``
(:mod:`vqseg_core.study.archive`), and a run with an archive is not trained again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vqseg_core.perturb import PAPER_KINDS

__all__ = ["Arm", "ShiftSet", "StudyRun", "StudySpec", "load_study"]


@dataclass(frozen=True)
class Arm:
    """One arm: a name, a label for tables, its training-config overrides, and its wave
    (arms of wave 1 are trained at every seed before any arm of wave 2)."""

    name: str
    label: str
    overrides: tuple[str, ...]
    wave: int = 1


@dataclass(frozen=True)
class ShiftSet:
    """A dataset evaluated clean (domain shift), never trained on; ``domain`` per case."""

    name: str
    dataset: Path


@dataclass(frozen=True)
class StudyRun:
    """One training run of the study: an arm at a seed, in its folder."""

    arm: Arm
    seed: int
    folder: Path

    @property
    def name(self) -> str:
        return f"{self.arm.name}-s{self.seed}"

    @property
    def export(self) -> Path:
        """The finished run's export (present once training is complete)."""
        return self.folder / f"{self.name}.json"


@dataclass(frozen=True)
class StudySpec:
    """A parsed study file (see the module docstring)."""

    name: str
    path: Path
    base: Path
    seeds: tuple[int, ...]
    common: tuple[str, ...]
    arms: tuple[Arm, ...]
    reference: str
    kinds: tuple[str, ...] = PAPER_KINDS
    levels: tuple[float, ...] = (0.0, 1.0, 5.0, 10.0, 20.0, 30.0)
    draws: int = 1
    noise_seed: int = 0
    max_cases: int | None = None
    probe_levels: tuple[float, ...] | None = None
    shift: tuple[ShiftSet, ...] = field(default_factory=tuple)
    headline: str = "lungs"
    archive: Path | None = None

    def arm(self, name: str) -> Arm:
        for arm in self.arms:
            if arm.name == name:
                return arm
        raise ValueError(
            f"no arm {name!r} in study {self.name}; arms: {[a.name for a in self.arms]}"
        )

    def runs(self, out: Path) -> list[StudyRun]:
        """Every run in training order: wave by wave, and within a wave seed by seed (all its
        arms at seed 1 first), so that a partial study stays matched."""
        return [
            StudyRun(arm, seed, Path(out) / "runs" / f"{arm.name}-s{seed}")
            for wave in sorted({a.wave for a in self.arms})
            for seed in self.seeds
            for arm in self.arms
            if arm.wave == wave
        ]

    def overrides(self, run: StudyRun) -> list[str]:
        """The ``section.key=value`` overrides of one run (regime, arm, name, seed)."""
        return [*self.common, *run.arm.overrides, f"name={run.name}", f"seed={run.seed}"]


def _overrides(block: Any, where: str, root: Path) -> tuple[str, ...]:
    if block is None:
        return ()
    if not isinstance(block, dict):
        raise ValueError(f"{where}: 'set' must be a mapping of section.key: value")
    items = []
    for key, value in block.items():
        if key == "data.dataset" and isinstance(value, str) and not value.startswith("sample:"):
            value = str((root / value).resolve())
        text = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("\n...")
        items.append(f"{key}={text}")
    return tuple(items)


def load_study(path: str | Path) -> StudySpec:
    """Read and check a study file.

    Raises:
        ValueError: unreadable file, unknown keys, no arms or seeds, an unknown reference arm.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read study {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"study {path} must be a mapping")
    known = {"name", "base", "seeds", "set", "reference", "arms", "evaluate", "headline",
             "archive"}  # fmt: skip
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"study {path}: unknown keys {unknown}")
    root = path.parent
    arms_data = data.get("arms") or {}
    if not isinstance(arms_data, dict) or not arms_data:
        raise ValueError(f"study {path}: 'arms' must map arm names to their settings")
    arms = []
    for name, block in arms_data.items():
        block = block or {}
        extra = sorted(set(block) - {"label", "set", "wave"})
        if extra:
            raise ValueError(f"study {path}, arm {name}: unknown keys {extra}")
        overrides = _overrides(block.get("set"), str(name), root)
        arms.append(
            Arm(str(name), str(block.get("label", name)), overrides, int(block.get("wave", 1)))
        )
    seeds = tuple(int(s) for s in data.get("seeds") or ())
    if not seeds:
        raise ValueError(f"study {path}: no seeds")
    reference = str(data.get("reference", arms[0].name))
    evaluate = data.get("evaluate") or {}
    extra = sorted(
        set(evaluate) - {"kinds", "levels", "draws", "seed", "max_cases", "shift", "probe_levels"}
    )
    if extra:
        raise ValueError(f"study {path}, evaluate: unknown keys {extra}")
    shift = tuple(
        ShiftSet(str(s["name"]), (root / str(s["dataset"])).resolve())
        for s in evaluate.get("shift") or ()
    )
    spec = StudySpec(
        name=str(data.get("name", path.stem)),
        path=path,
        base=(root / str(data["base"])).resolve(),
        seeds=seeds,
        common=_overrides(data.get("set"), "set", root),
        arms=tuple(arms),
        reference=reference,
        kinds=tuple(evaluate.get("kinds", PAPER_KINDS)),
        levels=tuple(float(v) for v in evaluate.get("levels", (0, 1, 5, 10, 20, 30))),
        draws=int(evaluate.get("draws", 1)),
        noise_seed=int(evaluate.get("seed", 0)),
        max_cases=evaluate.get("max_cases"),
        probe_levels=(
            tuple(float(v) for v in evaluate["probe_levels"])
            if "probe_levels" in evaluate
            else None
        ),
        shift=shift,
        headline=str(data.get("headline", "lungs")),
        archive=(root / str(data["archive"])).resolve() if data.get("archive") else None,
    )
    spec.arm(reference)
    return spec
