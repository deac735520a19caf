"""Model sets: 1-6 networks compared side by side, each with its weights, classes and recipe.

>>> from vqseg_core.modelset import set_from_files
>>> models = set_from_files(["runs/u/u.json", "runs/v/v.json", "runs/s/s.json"])  # doctest: +SKIP
>>> models.keys                                                                     # doctest: +SKIP
('unet', 'vqunet', 'vqskip')

Bundled sets are loaded by name with :func:`vqseg_core.pretrained.load_set`.
"""

from vqseg_core.modelset.exports import member_from_export, read_export, set_from_files
from vqseg_core.modelset.member import KIND_NAMES, PALETTE, Member
from vqseg_core.modelset.model_set import MAX_MEMBERS, ModelSet

__all__ = [
    "KIND_NAMES",
    "MAX_MEMBERS",
    "PALETTE",
    "Member",
    "ModelSet",
    "member_from_export",
    "read_export",
    "set_from_files",
]
