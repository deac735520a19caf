"""Volume inference in the order a viewer needs it: the displayed slice first, memory by slabs.

Two paths, both generators that yield a :class:`SlabDone` whenever axial slices (the last axis)
are final, and return a :class:`VolumeResult`:

* :func:`iter_sliding_window` — a 3D network: the same windows, weights (``constant`` or
  ``gaussian`` importance map) and blending as MONAI's ``sliding_window_inference``, run slab by
  slab along one axis. Only a ring of ``patch`` slices of summed logits is kept (float32, on the
  model's device); finished slices become argmax labels in a uint8 volume. MONAI instead keeps
  ``K x volume`` float32 logits plus a count map until the end. The ring sweeps along the axial
  axis, the slabs holding ``focus`` first, when that finishes the focus slice early; otherwise
  (a patch as deep as most of the volume: every window covers the middle slice) along the axis
  with the smallest ring, and, asked for, a :class:`PreviewDone` of the focus slice comes first
  from thin windows centred on it (:func:`preview_slab`).
* :func:`iter_slicewise` — a 2D network on a volume: chunks of axial slices, the chunk around
  ``focus`` first, then outward.

``cancel`` is polled before every batch (:class:`Cancelled` is raised).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from vqseg_core.volume_preview import EARLY_SHARE, focus_final_share, preview_slab, sweep_axis

ModelFn = Callable[[torch.Tensor], torch.Tensor]
CancelFn = Callable[[], bool]
SlabFn = Callable[[int, int, np.ndarray], None]


class Cancelled(Exception):
    """Raised between batches when the ``cancel`` callable returned True."""


@dataclass(frozen=True)
class SlabDone:
    """Axial slices ``z_start:z_stop`` are final.

    Attributes:
        z_start, z_stop: the finished slices (half-open, last axis of the input).
        labels: the whole uint8 output so far (the same array every time; unfinished slices 0,
            or a preview's labels where a :class:`PreviewDone` came).
        done, total: windows (3D) or slices (2D) run so far, and in all.
    """

    z_start: int
    z_stop: int
    labels: np.ndarray
    done: int
    total: int


@dataclass(frozen=True)
class PreviewDone(SlabDone):
    """A preview of axial slices ``z_start:z_stop`` (around the focus), not final yet.

    ``labels`` is the same output array as :class:`SlabDone`'s, those slices filled with the
    preview; later :class:`SlabDone` steps overwrite them with the exact labels. Only yielded
    when asked for (``preview=True``), so consumers that take every step as final are unaffected.
    """


@dataclass(frozen=True)
class VolumeResult:
    """Argmax labels ``(*spatial)`` and, when asked for, the blended logits ``(K, *spatial)``."""

    labels: np.ndarray
    logits: torch.Tensor | None = None


def check_cancel(cancel: CancelFn | None) -> None:
    """Raise :class:`Cancelled` if ``cancel`` says so."""
    if cancel is not None and cancel():
        raise Cancelled("cancelled")


def resampled_index(z: int, n_in: int, n_out: int) -> int:
    """The index on an axis of ``n_out`` samples nearest to index ``z`` of ``n_in`` (centres aligned)."""
    z = min(max(int(z), 0), n_in - 1)
    return min(max(round((z + 0.5) * n_out / n_in - 0.5), 0), n_out - 1)


def window_starts(size: int, patch: int, overlap: float) -> list[int]:
    """Window starts along one axis, exactly as MONAI's ``dense_patch_slices`` places them."""
    if patch >= size:
        return [0]
    step = max(1, int(patch * (1 - overlap)))
    count = next(d for d in range(math.ceil(size / step)) if d * step + patch >= size) + 1
    return [i * step - max(i * step + patch - size, 0) for i in range(count)]


def focus_slab_order(starts: Sequence[int], patch: int, focus: int | None) -> list[int]:
    """Slab indices: those whose ``[start, start + patch)`` holds ``focus`` (ascending), then the
    ones below (descending), then the ones above (ascending); plain order without a focus."""
    n = len(starts)
    if focus is None:
        return list(range(n))
    holding = [j for j, s in enumerate(starts) if s <= focus < s + patch]
    if not holding:  # focus outside the volume: the nearest slab
        holding = [int(np.argmin([abs(s + patch / 2 - focus) for s in starts]))]
    lo, hi = min(holding), max(holding)
    return [*range(lo, hi + 1), *range(lo - 1, -1, -1), *range(hi + 1, n)]


def _label_dtype(k: int) -> np.dtype:
    return np.dtype(np.uint8) if k <= 256 else np.dtype(np.int64)


def _importance(patch: tuple[int, ...], mode: str, sigma_scale: float, device) -> torch.Tensor:
    from monai.data.utils import compute_importance_map

    w = compute_importance_map(patch, mode=mode, sigma_scale=sigma_scale, device=device)
    return w.to(device=device, dtype=torch.float32)


def iter_sliding_window(
    x: torch.Tensor,
    model_fn: ModelFn,
    patch_size: Sequence[int],
    overlap: float = 0.25,
    *,
    sw_batch_size: int = 2,
    mode: str = "constant",
    sigma_scale: float = 0.125,
    focus: int | None = None,
    cancel: CancelFn | None = None,
    keep_logits: bool = False,
    preview: bool = False,
    preview_depth: int | None = None,
    sweep: int | None = None,
) -> Generator[SlabDone, None, VolumeResult]:
    """Sliding-window inference of a 3D network, slab by slab along one axis.

    The windows are MONAI's (same starts, importance map and normalisation by the summed
    weights). They run in slabs (the windows sharing one start on the swept axis). Weighted
    logits are summed into a ring of ``patch`` slices of the swept axis (float32, slice ``i``
    at ``i % patch``) that holds the running slab; a slice leaves it as argmax labels once the
    last slab over it ran. The swept axis is :func:`sweep_axis` (the smallest ring) unless the
    axial sweep finishes ``focus`` within :data:`EARLY_SHARE` of the windows. Sweeping along
    the axial axis, the slabs holding ``focus`` run first (ascending), then the ones below it
    (descending), then the ones above (ascending), and every slab that finishes slices yields
    them; unfinished slices outside the running slab (only when the order turns) wait outside
    the ring. Sweeping along another axis, the windows run in MONAI's own order and one
    :class:`SlabDone` for the whole volume comes at the end.

    Args:
        x: ``(1, C, X, Y, Z)`` input (any device; windows are cut from it and handed to
            ``model_fn``).
        model_fn: windows ``(B, C, *patch)`` -> logits ``(B, K, *patch)`` (any float dtype;
            the device of the logits holds the ring).
        patch_size, overlap, sw_batch_size, mode, sigma_scale: as MONAI's
            ``sliding_window_inference`` (padding with 0 when the volume is smaller than the patch).
        focus: the axial slice (index on the last axis of ``x``) to show first.
        cancel: returns True to abort (raises :class:`Cancelled` before a batch).
        keep_logits: also return the blended float32 logits (``K x volume``: for tests and
            small volumes only, it gives up the memory saving).
        preview: when the exact ``focus`` slice needs more than :data:`EARLY_SHARE` of the
            windows, first yield a :class:`PreviewDone`: ``preview_depth`` axial slices around
            ``focus`` through the same in-plane windows, ``preview_depth`` deep (see
            :func:`preview_slab`). Off by default: consumers that take every step for final
            slices keep working.
        preview_depth: axial depth of the preview windows (default ``patch[2] // 6``, >= 1).
        sweep: force the swept axis (0, 1 or 2; tests and benchmarks).

    Yields:
        :class:`PreviewDone` (asked for, at most once, before any slice is final), then
        :class:`SlabDone` whenever slices are final.

    Returns:
        :class:`VolumeResult`.
    """
    if x.ndim != 5 or x.shape[0] != 1:
        raise ValueError(f"expected a (1, C, X, Y, Z) volume, got shape {tuple(x.shape)}")
    patch = tuple(int(p) for p in patch_size)
    if len(patch) != 3:
        raise ValueError(f"patch_size must have 3 entries, got {patch}")
    if not 0 <= overlap < 1:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    shape = tuple(int(n) for n in x.shape[2:])
    before = [max(p - n, 0) // 2 for p, n in zip(patch, shape, strict=True)]
    pad: list[int] = []
    for p, n, b in reversed(list(zip(patch, shape, before, strict=True))):
        pad += [b, max(p - n, 0) - b]
    if any(pad):
        x = F.pad(x, pad, mode="constant", value=0.0)
    size = tuple(int(n) for n in x.shape[2:])
    starts = [window_starts(n, p, overlap) for n, p in zip(size, patch, strict=True)]
    focus_p = None if focus is None else focus + before[2]
    share = focus_final_share(starts[2], patch[2], focus_p)
    ax = sweep if sweep is not None else (2 if share <= EARLY_SHARE else sweep_axis(size, patch))
    perm = (*[a for a in range(3) if a != ax], ax)
    ring = _Ring(patch[ax], size, shape, before, perm, keep_logits)
    for s in starts[ax]:
        ring.cover[s : s + patch[ax]] += 1
    corners = [(a, b) for a in starts[perm[0]] for b in starts[perm[1]]]
    total = len(corners) * len(starts[ax])
    axial = ax == 2
    if preview and focus_p is not None and (not axial or share > EARLY_SHARE):
        depth = max(1, patch[2] // 6) if preview_depth is None else int(preview_depth)
        kw = {"sw_batch_size": sw_batch_size, "mode": mode, "sigma_scale": sigma_scale}

        def window_labels(slab: torch.Tensor, thin: tuple[int, ...]) -> np.ndarray:
            steps = iter_sliding_window(slab, model_fn, thin, overlap, cancel=cancel, **kw)
            return drive(steps).labels

        z0, z1, shown = preview_slab(x, window_labels, patch, focus_p, depth)
        o0, o1 = max(z0 - before[2], 0), min(z1 - before[2], shape[2])
        if o0 < o1:
            xa, ya = before[0], before[1]
            shown = shown[xa : xa + shape[0], ya : ya + shape[1], o0 + before[2] - z0 :]
            ring.show(shown[..., : o1 - o0], o0, o1)
            yield PreviewDone(o0, o1, ring.base, 0, total)
    order = (
        focus_slab_order(starts[2], patch[2], focus_p) if axial else list(range(len(starts[ax])))
    )
    # batches run across slab ends, so every batch is full (the same kernels as MONAI's); the
    # outputs of windows of a later slab wait (at most sw_batch_size - 1) until it is entered
    windows = [(j, a, b) for j in order for a, b in corners]
    carry: list[tuple[int, int, int, torch.Tensor]] = []
    done = 0
    back = [p + 1 for p in perm]  # window (K, X, Y, Z) -> ring order

    def cut(j: int, a: int, b: int) -> torch.Tensor:
        lo = [0, 0, 0]
        lo[perm[0]], lo[perm[1]], lo[ax] = a, b, starts[ax][j]
        return x[:, :, lo[0] : lo[0] + patch[0], lo[1] : lo[1] + patch[1], lo[2] : lo[2] + patch[2]]

    for j in order:
        z0 = starts[ax][j]
        ring.enter(z0, z0 + patch[ax])
        for _, a, b, held in [c for c in carry if c[0] == j]:
            ring.add(held, a, b, z0)
        carry = [c for c in carry if c[0] != j]
        while done < len(windows) and windows[done][0] == j:
            check_cancel(cancel)
            batch = windows[done : done + sw_batch_size]
            out = model_fn(torch.cat([cut(*w) for w in batch]))
            if ring.sums is None:
                ring.allocate(int(out.shape[1]), out.device, patch, mode, sigma_scale)
            if mode != "constant":  # as MONAI: weighted in the logits' own dtype
                out = (out * ring.weight).to(out.dtype)
            for (jj, a, b), one in zip(batch, out, strict=True):
                one = one.permute(0, *back)
                if jj == j:
                    ring.add(one, a, b, z0)
                else:
                    carry.append((jj, a, b, one))
            done += len(batch)
        finished = ring.finish(z0, z0 + patch[ax])
        if finished is not None and axial:
            yield SlabDone(finished[0], finished[1], ring.base, done, total)
    if not axial:
        yield SlabDone(0, shape[2], ring.base, done, total)
    return VolumeResult(ring.base, ring.logits)


class _Ring:
    """The running sums of :func:`iter_sliding_window`: ``n`` slices of the swept axis (the last
    of ``perm``), slice ``i`` at ``i % n``; arrays in ``perm`` order are views of the output."""

    def __init__(self, n: int, size: tuple[int, ...], shape: tuple[int, ...], before: Sequence[int],
                 perm: tuple[int, ...], keep_logits: bool) -> None:  # fmt: skip
        self.n, self.perm, self.keep = n, perm, keep_logits
        self.plane = (size[perm[0]], size[perm[1]])
        depth = size[perm[2]]
        self.xs = (before[perm[0]], shape[perm[0]])
        self.ys = (before[perm[1]], shape[perm[1]])
        self.zb, self.z_size = before[perm[2]], shape[perm[2]]
        self.cover = np.zeros(depth, dtype=np.int64)  # slabs still to run over each slice
        self.final = np.zeros(depth, dtype=bool)
        self.shape = shape
        self.base = np.zeros(shape, dtype=np.uint8)  # the output, (X, Y, Z)
        self.labels = self.base.transpose(perm)
        self.logits: torch.Tensor | None = None
        self.logits_view: torch.Tensor | None = None
        self.sums: torch.Tensor | None = None  # (n, K, A, B)
        self.counts = torch.zeros(0)  # (n, A, B)
        self.weight = torch.zeros(0)  # (Px, Py, Pz)
        self.weight_ring = torch.zeros(0)  # (Pa, Pb, Ps)
        self.live = np.zeros(depth, dtype=bool)  # summed into and not final
        self.parked: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def classes(self, k: int) -> None:
        """Make the output hold ``k`` classes (uint8 up to 256, kept values)."""
        if self.base.dtype != _label_dtype(k):
            self.base = self.base.astype(_label_dtype(k))
            self.labels = self.base.transpose(self.perm)

    def show(self, labels: np.ndarray, z0: int, z1: int) -> None:
        """Write preview ``labels`` ``(X, Y, z1 - z0)`` into the output's axial slices ``z0:z1``."""
        if self.base.dtype.itemsize < labels.dtype.itemsize:
            self.classes(257)
        self.base[..., z0:z1] = labels

    def allocate(self, k: int, device, patch, mode, sigma_scale) -> None:
        self.sums = torch.zeros((self.n, k, *self.plane), dtype=torch.float32, device=device)
        self.counts = torch.zeros((self.n, *self.plane), dtype=torch.float32, device=device)
        self.weight = _importance(patch, mode, sigma_scale, device)
        self.weight_ring = self.weight.permute(*self.perm)
        self.classes(k)
        if self.keep:
            self.logits = torch.zeros((k, *self.shape), dtype=torch.float32)
            self.logits_view = self.logits.permute(0, *[p + 1 for p in self.perm])

    def _pieces(self, z0: int, z1: int):
        """``(ring start, ring stop, z start, z stop)`` of ``[z0, z1)``, split where the ring wraps."""
        z = z0
        while z < z1:
            r = z % self.n
            stop = min(z1, z + self.n - r)
            yield r, r + stop - z, z, stop
            z = stop

    def add(self, p: torch.Tensor, a: int, b: int, z0: int) -> None:
        """Add one window's (weighted) logits ``(K, Pa, Pb, Ps)`` (ring order) at ``(a, b, z0)``."""
        assert self.sums is not None
        q, w = p.permute(3, 0, 1, 2), self.weight_ring.permute(2, 0, 1)
        px, py = p.shape[1], p.shape[2]
        for r0, r1, s0, s1 in self._pieces(z0, z0 + p.shape[3]):
            self.sums[r0:r1, :, a : a + px, b : b + py] += q[s0 - z0 : s1 - z0]
            self.counts[r0:r1, a : a + px, b : b + py] += w[s0 - z0 : s1 - z0]
        self.live[z0 : z0 + p.shape[3]] = True

    def finish(self, z0: int, z1: int, chunk: int = 8) -> tuple[int, int] | None:
        """Labels of the slices of ``[z0, z1)`` that no slab still covers; their range (output z)."""
        assert self.sums is not None
        self.cover[z0:z1] -= 1
        ready = [z for z in range(z0, z1) if self.cover[z] == 0 and not self.final[z]]
        kept = []
        for c in range(0, len(ready), chunk):
            zs = ready[c : c + chunk]
            for r0, r1, s0, s1 in self._runs(zs):
                self._emit(r0, r1, s0, s1)
                kept += [z - self.zb for z in range(s0, s1) if 0 <= z - self.zb < self.z_size]
            self.final[zs] = True
            self.live[zs] = False
        return (min(kept), max(kept) + 1) if kept else None

    def _runs(self, zs: list[int]):
        start = prev = zs[0]
        for z in [*zs[1:], None]:
            if z is not None and z == prev + 1:
                prev = z
                continue
            yield from self._pieces(start, prev + 1)
            if z is not None:
                start = prev = z

    def _emit(self, r0: int, r1: int, s0: int, s1: int) -> None:
        assert self.sums is not None
        blended = self.sums[r0:r1] / self.counts[r0:r1, None]
        self.sums[r0:r1] = 0
        self.counts[r0:r1] = 0
        o0, o1 = max(s0 - self.zb, 0), min(s1 - self.zb, self.z_size)
        if o0 >= o1:
            return
        (xa, xn), (ya, yn) = self.xs, self.ys
        crop = blended[o0 + self.zb - s0 : o1 + self.zb - s0, :, xa : xa + xn, ya : ya + yn]
        self.labels[..., o0:o1] = crop.argmax(1).permute(1, 2, 0).cpu().numpy()
        if self.logits_view is not None:
            self.logits_view[..., o0:o1] = crop.permute(1, 2, 3, 0).float().cpu()

    def enter(self, z0: int, z1: int) -> None:
        """Make the ring hold slab ``[z0, z1)``: park other unfinished slices, restore parked ones."""
        if self.sums is None:
            return
        for z in np.flatnonzero(self.live).tolist():
            if not z0 <= z < z1 and z not in self.parked:
                r = z % self.n
                self.parked[z] = (self.sums[r].clone(), self.counts[r].clone())
                self.sums[r] = 0
                self.counts[r] = 0
        for z in [z for z in self.parked if z0 <= z < z1]:
            sums, counts = self.parked.pop(z)
            self.sums[z % self.n] += sums
            self.counts[z % self.n] += counts


def chunk_ranges(n: int, chunk: int, focus: int | None) -> list[tuple[int, int]]:
    """Half-open ranges of ``chunk`` slices covering ``0..n``: the one centred on ``focus`` first,
    then alternately the next below and above (plain order without a focus)."""
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    if focus is None:
        return [(s, min(s + chunk, n)) for s in range(0, n, chunk)]
    f = min(max(int(focus), 0), n - 1)
    first = min(max(f - chunk // 2, 0), max(n - chunk, 0))
    ranges = [(first, min(first + chunk, n))]
    lo, hi = first, min(first + chunk, n)
    while lo > 0 or hi < n:
        if lo > 0:
            ranges.append((max(lo - chunk, 0), lo))
            lo = max(lo - chunk, 0)
        if hi < n:
            ranges.append((hi, min(hi + chunk, n)))
            hi = min(hi + chunk, n)
    return ranges


def iter_slicewise(
    x: torch.Tensor,
    model_fn: ModelFn,
    *,
    chunk: int = 16,
    focus: int | None = None,
    cancel: CancelFn | None = None,
    keep_logits: bool = False,
) -> Generator[SlabDone, None, VolumeResult]:
    """A 2D network over the axial slices of ``x`` ``(1, C, H, W, Z)``, the focus chunk first.

    Args:
        x: the volume.
        model_fn: slices ``(B, C, H, W)`` -> logits ``(B, K, H, W)``.
        chunk: slices per forward pass.
        focus: the slice to run first (with its ``chunk`` neighbours).
        cancel: returns True to abort (raises :class:`Cancelled` before a chunk).
        keep_logits: also return the float32 logits ``(K, H, W, Z)``.

    Yields:
        :class:`SlabDone` after each chunk.

    Returns:
        :class:`VolumeResult`.
    """
    if x.ndim != 5 or x.shape[0] != 1:
        raise ValueError(f"expected a (1, C, H, W, Z) volume, got shape {tuple(x.shape)}")
    n = int(x.shape[-1])
    labels: np.ndarray | None = None
    logits: torch.Tensor | None = None
    done = 0
    for z0, z1 in chunk_ranges(n, chunk, focus):
        check_cancel(cancel)
        out = model_fn(x[0, :, :, :, z0:z1].movedim(-1, 0))  # (n, K, H, W)
        if labels is None:
            labels = np.zeros((*x.shape[2:4], n), dtype=_label_dtype(int(out.shape[1])))
            if keep_logits:
                logits = torch.zeros((int(out.shape[1]), *x.shape[2:4], n), dtype=torch.float32)
        labels[..., z0:z1] = out.argmax(1).movedim(0, -1).cpu().numpy()
        if logits is not None:
            logits[..., z0:z1] = out.float().cpu().movedim(0, -1)
        done += z1 - z0
        yield SlabDone(z0, z1, labels, done, n)
    assert labels is not None
    return VolumeResult(labels, logits)


def drive(
    steps: Generator[SlabDone, None, VolumeResult],
    on_slab: SlabFn | None = None,
    on_preview: SlabFn | None = None,
) -> VolumeResult:
    """Run a volume generator to the end, calling ``on_slab(z_start, z_stop, labels)`` per final
    step and ``on_preview(z_start, z_stop, labels)`` per :class:`PreviewDone`."""
    while True:
        try:
            step = next(steps)
        except StopIteration as stop:
            return stop.value
        call = on_preview if isinstance(step, PreviewDone) else on_slab
        if call is not None:
            call(step.z_start, step.z_stop, step.labels)
