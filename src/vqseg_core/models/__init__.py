"""Segmentation networks (UNet, VQUNet, VQSkipUNet; 2D and 3D) and the quantiser."""

from vqseg_core.models.config import ModelConfig, build_model
from vqseg_core.models.output import Encoding, Latent, ModelOutput, QuantizerOutput
from vqseg_core.models.quantizer import VectorQuantizer
from vqseg_core.models.unet import UNet
from vqseg_core.models.vq_skip_unet import VQSkipUNet
from vqseg_core.models.vq_unet import VQUNet

__all__ = [
    "Encoding",
    "Latent",
    "ModelConfig",
    "ModelOutput",
    "QuantizerOutput",
    "UNet",
    "VQSkipUNet",
    "VQUNet",
    "VectorQuantizer",
    "build_model",
]
