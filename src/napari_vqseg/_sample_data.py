"""Bundled samples: each opens as an image layer plus its ground-truth Labels layer when present.

The files are package data of :mod:`vqseg_core.data.samples`; this module only makes layers.
"""

from __future__ import annotations

from pathlib import Path


def list_samples() -> list[str]:
    """Names of the bundled samples (:mod:`vqseg_core.data.samples`)."""
    from vqseg_core.data.samples import list_samples as core_list

    return list(core_list())


def sample_files(name: str) -> tuple[Path, Path | None, dict[int, str]]:
    """``(image path, labels path or None, {label: name})`` of the bundled sample ``name``.

    Raises:
        ValueError: an unknown name (the message lists the bundled samples).
    """
    from vqseg_core.data.samples import get_sample

    sample = get_sample(name)
    return Path(sample.image), sample.labels, dict(sample.label_names)


def load_sample(name: str) -> list[tuple]:
    """LayerDataTuples of sample ``name``: the image, then its ground truth (if bundled)."""
    from napari_vqseg._layers import layer_data_tuple
    from vqseg_core.io import load_image

    image_path, labels_path, names = sample_files(name)
    image = load_image(image_path)
    layers = [layer_data_tuple(image, name=name, force="image")]
    if labels_path is not None and labels_path.exists():
        labels = load_image(labels_path)
        data, kwargs, kind = layer_data_tuple(labels, name=f"{name} ground truth", force="labels")
        kwargs["metadata"]["label_names"] = names
        kwargs["opacity"] = 0.5
        layers.append((data, kwargs, kind))
    return layers


def chest_xray() -> list[tuple]:
    """Chest radiograph (Shenzhen) with a manual lung mask."""
    return load_sample("chest-xray")


def chest_xray_cr() -> list[tuple]:
    """Unlabelled computed-radiography chest image (another domain)."""
    return load_sample("chest-xray-cr")


def ct_slab() -> list[tuple]:
    """A CT slab with organ labels (TotalSegmentator pseudo-ground-truth)."""
    return load_sample("ct-slab")


def brain_mri() -> list[tuple]:
    """Colin27 brain MRI with brain / grey-matter labels."""
    return load_sample("brain-mri")
