"""Matched multi-seed studies: arms x seeds trained alike, scored per case, summarised.

``vqseg-study`` (:mod:`vqseg_core.cli.study`) is the command; a study file is described in
:mod:`vqseg_core.study.spec`; the intervals in :mod:`vqseg_core.study.stats`.
"""

from vqseg_core.study.spec import Arm, ShiftSet, StudyRun, StudySpec, load_study
from vqseg_core.study.stats import SeedCaseStat, crossed_bootstrap

__all__ = [
    "Arm",
    "SeedCaseStat",
    "ShiftSet",
    "StudyRun",
    "StudySpec",
    "crossed_bootstrap",
    "load_study",
]
