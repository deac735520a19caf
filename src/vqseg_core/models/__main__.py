"""``python -m vqseg_core.models``: build UNet and VQ-UNet, run them once, print what they are.

This is the end-to-end check that exists before trained weights and the plugin arrive: it
shows parameter counts, the model contract (shapes of logits, features, indices), the
codebook usage and bound r on two different synthetic images, and CPU timings in float32 and
in bf16 + channels-last.
"""

from __future__ import annotations

import argparse
import time

import torch

from vqseg_core.analysis import codebook_stats
from vqseg_core.models import UNet, VQUNet


def _time(model: torch.nn.Module, x: torch.Tensor, fast: bool, repeats: int = 3) -> float:
    if fast:
        model = model.to(
            memory_format=torch.channels_last if x.ndim == 4 else torch.channels_last_3d
        )
    times = []
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=fast):
        model(x)  # warm-up
        for _ in range(repeats):
            t0 = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def _images(size: int, spatial_dims: int) -> tuple[torch.Tensor, torch.Tensor]:
    axes = torch.meshgrid(*[torch.linspace(-1, 1, size)] * spatial_dims, indexing="ij")
    radius = sum(a**2 for a in axes).sqrt()
    disc = (radius < 0.6).float()
    noise = torch.rand(disc.shape, generator=torch.Generator().manual_seed(0))
    return disc[None, None], noise[None, None]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vqseg_core.models", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--spatial-dims", type=int, choices=(2, 3), default=2)
    parser.add_argument("--size", type=int, default=256, help="image side in pixels/voxels")
    args = parser.parse_args(argv)
    torch.manual_seed(42)
    disc, noise = _images(args.size, args.spatial_dims)
    print(
        f"input: {tuple(disc.shape)} (B, C, *spatial); torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    for cls in (UNet, VQUNet):
        model = cls(args.spatial_dims, 1, 2).eval()
        n_params = sum(p.numel() for p in model.parameters())
        with torch.inference_mode():
            logits = model(disc)
            enc_a, enc_b = model.encode(disc), model.encode(noise)
        print(
            f"\n{cls.__name__}: {n_params / 1e6:.2f} M parameters, logits {tuple(logits.shape)}, "
            f"features {tuple(enc_a.features.shape)}"
        )
        if isinstance(model, VQUNet):
            assert enc_a.indices is not None and enc_b.indices is not None
            stats = codebook_stats(
                model.quantizer.codebook, torch.cat([enc_a.indices, enc_b.indices])
            )
            differ = float((enc_a.indices != enc_b.indices).float().mean())
            print(
                f"  indices {tuple(enc_a.indices.shape)}; codes used on 2 images: {stats.used}/"
                f"{stats.codebook_size}, perplexity {stats.perplexity:.1f}; "
                f"positions whose code differs between the 2 images: {differ:.0%}"
            )
            print(
                f"  bound r (untrained codebook): used codes {stats.r_used:.2e}, all {stats.r_all:.2e}"
            )
        t32 = _time(model, disc, fast=False)
        tfast = _time(model, disc, fast=True)
        print(
            f"  CPU forward: float32 {t32 * 1e3:.0f} ms, bf16+channels-last {tfast * 1e3:.0f} ms "
            f"({t32 / tfast:.1f}x)"
        )
    print("\n(untrained weights: this checks wiring and speed, not segmentation quality)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
