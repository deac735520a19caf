"""Builders of the foreign-model tests: a seeded MONAI UNet and its vqseg-model YAML."""

from __future__ import annotations

from pathlib import Path

import torch
import yaml

MONAI_ARGS = {"spatial_dims": 2, "in_channels": 1, "out_channels": 3, "channels": [8, 16, 32],
              "strides": [2, 2], "num_res_units": 0}  # fmt: skip
NECK = "model.1.submodule.1.submodule"  # (B, 32, H/4, W/4)


def monai_yaml(folder: Path, bottleneck: str | None = NECK, suffix: str = ".safetensors") -> Path:
    """A MONAI UNet (seeded weights) as a state dict and its YAML; returns the YAML."""
    from monai.networks.nets import UNet
    from safetensors.torch import save_file

    torch.manual_seed(0)
    net = UNet(**MONAI_ARGS)
    weights = folder / f"monai-unet{suffix}"
    if suffix == ".safetensors":
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, weights)
    else:
        torch.save({"state_dict": net.state_dict()}, weights)
    spec = {"format": "vqseg-model", "type": "monai", "file": weights.name, "name": "MONAI UNet",
            "monai": {"class": "UNet", "args": MONAI_ARGS}, "spatial_dims": 2,
            "in_channels": 1, "classes": {1: "lungs", 2: "heart"}, "recipe": "chest_xray",
            "image_size": [64, 64], "divisible_by": 4}  # fmt: skip
    if bottleneck is not None:
        spec["bottleneck"] = bottleneck
    path = folder / f"monai-unet{'' if bottleneck else '-plain'}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path
