"""Segmentation networks: :class:`UNet` and :class:`VQUNet` (2D and 3D), and the quantiser."""

from vqseg_core.models.config import ModelConfig, build_model
from vqseg_core.models.output import Encoding, ModelOutput, QuantizerOutput
from vqseg_core.models.quantizer import VectorQuantizer
from vqseg_core.models.unet import UNet
from vqseg_core.models.vq_unet import VQUNet

__all__ = [
    "Encoding",
    "ModelConfig",
    "ModelOutput",
    "QuantizerOutput",
    "UNet",
    "VQUNet",
    "VectorQuantizer",
    "build_model",
]
