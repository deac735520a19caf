"""The typicality references shipped with the chest set belong to its weights and react to
corruption (AUC against Montgomery/Shenzhen: docs/results/ood/)."""

from __future__ import annotations

from vqseg_core.evaluation.ood import member_summary
from vqseg_core.perturb import Corruption
from vqseg_core.pretrained import load_set


def test_each_chest_model_has_the_reference_fitted_on_its_own_weights() -> None:
    from vqseg_core.data.samples import sample_path
    from vqseg_core.io import load_image

    models = load_set("chest-xray")
    image = load_image(sample_path("chest-xray")[0])
    for member in models:
        ref = member.info["ood"]
        assert ref.source["model_sha256"] == member.sha256
        assert ref.source["n"] == 99 and ref.source["split"] == "train"
        clean = ref.score(member_summary(member, image.array, image.spacing))
        noisy = ref.score(member_summary(member, image.array, image.spacing,
                                         Corruption("gaussian", 20.0, 0)))  # fmt: skip
        assert noisy > clean  # a corrupted image is less typical than the clean one
