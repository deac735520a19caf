"""The vector quantiser at the VQ-UNet bottleneck.

Defaults follow the paper (and its taming-transformers era code): ``K = 1024`` codes of
dimension ``D = 256``, codebook initialised uniform(+-1/K), nearest code in L2, straight-through
gradients, and ``beta = 0.25`` weighting the *codebook* term::

    loss = beta * ||sg(z) - q||^2 + ||z - sg(q)||^2          (beta_on="codebook", default)
    loss = ||sg(z) - q||^2 + beta * ||z - sg(q)||^2          (beta_on="commitment", VQ-VAE)

(the poster typesets beta on the commitment term; the paper-era code puts it on the codebook
term; the authors' later rewrite moved it. Both are available.) Norms are mean squared errors.

Options beyond the paper, all off by default: k-means initialisation from the first training
batch, EMA codebook updates, dead-code restart, and a cosine (unit-norm) codebook. Distances and
argmin always run in float32, even under bf16/fp16 autocast.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import distributed as dist
from torch import nn

from vqseg_core.models.output import QuantizerOutput

BETA_PLACEMENTS = ("codebook", "commitment")
CODEBOOK_INITS = ("uniform", "kmeans")


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def perplexity_from_counts(counts: torch.Tensor) -> torch.Tensor:
    """``exp(entropy)`` of a code histogram: 1 when one code is used, K when all are used equally."""
    total = counts.sum()
    if total == 0:
        return torch.ones((), dtype=torch.float32, device=counts.device)
    p = counts.float() / total
    entropy = -(p * torch.log(p.clamp_min(1e-12))).sum()
    return torch.exp(entropy)


# Distances computed at once by nearest_codes (256 MiB of float32): a full-resolution latent
# (a quantised skip, a 3D volume) is split into row chunks instead of one (N, K) matrix.
DISTANCE_CHUNK = 1 << 26


def nearest_codes(flat: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """Index of the nearest code (L2) for each row of ``flat`` ``(N, D)``; float32 throughout.

    Rows are processed in chunks of at most ``DISTANCE_CHUNK // K`` (one chunk for the usual
    bottleneck sizes), so memory stays bounded for large ``N``.
    """
    flat = flat.float()
    codebook = codebook.float()
    # ||z - e||^2 = ||z||^2 - 2 z.e + ||e||^2; ||z||^2 does not change the argmin.
    norms = (codebook * codebook).sum(1)
    rows = max(1, DISTANCE_CHUNK // codebook.shape[0])
    if flat.shape[0] <= rows:
        return torch.addmm(norms, flat, codebook.t(), alpha=-2.0).argmin(dim=1)
    return torch.cat(
        [
            torch.addmm(norms, part, codebook.t(), alpha=-2.0).argmin(dim=1)
            for part in flat.split(rows)
        ]
    )


def kmeans(
    data: torch.Tensor, k: int, iterations: int = 10, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Lloyd's k-means on ``data`` ``(N, D)``; returns ``(k, D)`` centroids (float32).

    With fewer points than ``k`` the centroids are points drawn with replacement plus a small
    jitter, so that every code starts near the data.
    """
    data = data.float()
    n = data.shape[0]
    device = data.device
    if n < k:
        pick = torch.randint(n, (k,), generator=generator, device="cpu").to(device)
        noise = torch.randn(k, data.shape[1], generator=generator, device="cpu").to(device)
        scale = data.std(dim=0, keepdim=True).clamp_min(1e-6) * 0.01
        return data[pick] + noise * scale
    centroids = data[torch.randperm(n, generator=generator, device="cpu")[:k].to(device)].clone()
    for _ in range(iterations):
        assign = nearest_codes(data, centroids)
        counts = torch.bincount(assign, minlength=k).float()
        sums = torch.zeros_like(centroids).index_add_(0, assign, data)
        filled = counts > 0
        centroids[filled] = sums[filled] / counts[filled, None]
    return centroids


class VectorQuantizer(nn.Module):
    """Snap each latent vector to its nearest codebook vector.

    Args:
        codebook_size: number of codes K (paper: 1024).
        codebook_dim: code dimension D (paper: 256).
        beta: weight of one of the two VQ loss terms (paper: 0.25).
        beta_on: ``"codebook"`` (paper-era code, default) or ``"commitment"`` (VQ-VAE).
        codebook_init: ``"uniform"`` (+-1/K, paper) or ``"kmeans"`` (from the first training batch).
        ema_decay: if set (e.g. 0.99), codes follow an exponential moving average of their
            assigned vectors instead of the codebook loss gradient.
        dead_code_threshold: if set, codes whose running usage (EMA of assignments per batch)
            falls below it are restarted at random latent vectors of the current batch.
        cosine: compare unit-normalised vectors (the quantised output is the normalised code).

    Shapes:
        input ``z``: ``(B, D, *S)``; output: :class:`QuantizerOutput`.
    """

    def __init__(
        self,
        codebook_size: int = 1024,
        codebook_dim: int = 256,
        beta: float = 0.25,
        beta_on: str = "codebook",
        codebook_init: str = "uniform",
        ema_decay: float | None = None,
        dead_code_threshold: float | None = None,
        cosine: bool = False,
    ) -> None:
        super().__init__()
        if not isinstance(codebook_size, int) or codebook_size < 2:
            raise ValueError(f"codebook_size must be an int >= 2, got {codebook_size!r}")
        if not isinstance(codebook_dim, int) or codebook_dim < 1:
            raise ValueError(f"codebook_dim must be a positive int, got {codebook_dim!r}")
        if not beta >= 0:
            raise ValueError(f"beta must be >= 0, got {beta!r}")
        if beta_on not in BETA_PLACEMENTS:
            raise ValueError(f"beta_on must be one of {BETA_PLACEMENTS}, got {beta_on!r}")
        if codebook_init not in CODEBOOK_INITS:
            raise ValueError(
                f"codebook_init must be one of {CODEBOOK_INITS}, got {codebook_init!r}"
            )
        if ema_decay is not None and not 0.0 < ema_decay < 1.0:
            raise ValueError(f"ema_decay must lie in (0, 1) or be None, got {ema_decay!r}")
        if dead_code_threshold is not None and not dead_code_threshold >= 0:
            raise ValueError(
                f"dead_code_threshold must be >= 0 or None, got {dead_code_threshold!r}"
            )
        self.codebook_size = codebook_size
        self.codebook_dim = codebook_dim
        self.beta = float(beta)
        self.beta_on = beta_on
        self.codebook_init = codebook_init
        self.ema_decay = ema_decay
        self.dead_code_threshold = dead_code_threshold
        self.cosine = cosine

        init = torch.empty(codebook_size, codebook_dim).uniform_(
            -1 / codebook_size, 1 / codebook_size
        )
        self.codebook = nn.Parameter(init, requires_grad=ema_decay is None)
        self.register_buffer("initialized", torch.tensor(codebook_init == "uniform"))
        self.register_buffer("usage", torch.ones(codebook_size))
        if ema_decay is not None:
            self.register_buffer("ema_count", torch.ones(codebook_size))
            self.register_buffer("ema_sum", init.clone())

    def extra_repr(self) -> str:
        return (
            f"K={self.codebook_size}, D={self.codebook_dim}, beta={self.beta} on {self.beta_on}, "
            f"init={self.codebook_init}, ema={self.ema_decay}, "
            f"restart={self.dead_code_threshold}, cosine={self.cosine}"
        )

    def effective_codebook(self) -> torch.Tensor:
        """The ``(K, D)`` vectors the latents are snapped to (unit-normalised when ``cosine``)."""
        return F.normalize(self.codebook, dim=1) if self.cosine else self.codebook

    def forward(self, z: torch.Tensor) -> QuantizerOutput:
        if z.ndim < 3 or z.shape[1] != self.codebook_dim:
            raise ValueError(
                f"expected latents of shape (B, {self.codebook_dim}, *spatial), got {tuple(z.shape)}"
            )
        with torch.autocast(device_type=z.device.type, enabled=False):
            return self._quantize(z)

    def _quantize(self, z: torch.Tensor) -> QuantizerOutput:
        # channels last with non-negative axes (ONNX export refuses a negative permutation)
        flat = z.float().movedim(1, z.ndim - 1).reshape(-1, self.codebook_dim)
        if self.cosine:
            flat = F.normalize(flat, dim=1)
        if self.training and not bool(self.initialized):
            self._init_from(flat.detach())
        codebook = self.effective_codebook()
        indices = nearest_codes(flat.detach(), codebook.detach())
        q = codebook[indices]
        codebook_loss = F.mse_loss(q, flat.detach())
        commitment_loss = F.mse_loss(flat, q.detach())
        if self.beta_on == "codebook":
            loss = self.beta * codebook_loss + commitment_loss
        else:
            loss = codebook_loss + self.beta * commitment_loss
        if self.ema_decay is not None:  # codes are moved by the EMA, not by this loss
            loss = commitment_loss if self.beta_on == "codebook" else self.beta * commitment_loss
        counts = torch.bincount(indices, minlength=self.codebook_size)
        if self.training:
            self._update(flat.detach(), indices, counts)
        # q + (flat - sg(flat)): forward value is exactly q, gradient flows to z (straight-through)
        quantized = q + (flat - flat.detach())
        spatial = z.shape[2:]
        quantized = quantized.reshape(z.shape[0], *spatial, self.codebook_dim).movedim(z.ndim - 1, 1)
        return QuantizerOutput(
            quantized=quantized.to(z.dtype),
            indices=indices.reshape(z.shape[0], *spatial),
            loss=loss,
            codebook_loss=codebook_loss.detach(),
            commitment_loss=commitment_loss.detach(),
            used_codes=(counts > 0).sum(),
            perplexity=perplexity_from_counts(counts).detach(),
        )

    @torch.no_grad()
    def _init_from(self, flat: torch.Tensor) -> None:
        centroids = kmeans(flat, self.codebook_size)
        if _distributed():
            dist.broadcast(centroids, src=0)
        self.codebook.data.copy_(centroids)
        if self.ema_decay is not None:
            self.ema_sum.copy_(centroids)
            self.ema_count.fill_(1.0)
        self.initialized.fill_(True)

    @torch.no_grad()
    def _update(self, flat: torch.Tensor, indices: torch.Tensor, counts: torch.Tensor) -> None:
        counts = counts.float()
        if self.ema_decay is not None:
            sums = torch.zeros_like(self.ema_sum).index_add_(0, indices, flat)
            if _distributed():
                dist.all_reduce(counts)
                dist.all_reduce(sums)
            d = self.ema_decay
            self.ema_count.mul_(d).add_(counts, alpha=1 - d)
            self.ema_sum.mul_(d).add_(sums, alpha=1 - d)
            n = self.ema_count.sum()
            smoothed = (self.ema_count + 1e-5) / (n + self.codebook_size * 1e-5) * n
            self.codebook.data.copy_(self.ema_sum / smoothed[:, None])
        elif _distributed():
            dist.all_reduce(counts)
        self.usage.mul_(0.99).add_(counts, alpha=0.01)
        if self.dead_code_threshold is not None:
            self._restart_dead(flat)

    @torch.no_grad()
    def _restart_dead(self, flat: torch.Tensor) -> None:
        dead = self.usage < self.dead_code_threshold
        n_dead = int(dead.sum())
        if n_dead == 0:
            return
        pick = torch.randint(flat.shape[0], (n_dead,), device=flat.device)
        fresh = flat[pick]
        if _distributed():
            dist.broadcast(fresh, src=0)
        self.codebook.data[dead] = fresh.to(self.codebook.dtype)
        if self.ema_decay is not None:
            self.ema_sum[dead] = fresh
            self.ema_count[dead] = 1.0
        self.usage[dead] = 1.0
