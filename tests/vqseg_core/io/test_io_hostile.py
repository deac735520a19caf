"""Issue #16 "Hostile input", image readers and blur: nothing blocks, nothing returns garbage.

Special files (FIFOs, ``/dev/zero``) and the blur at absurd spacings run in a subprocess with a
time limit (``tests/isolated.py``), so that a regression fails its test instead of hanging the
suite. The other cases check values kept and the words of the errors.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from _hostile_builders import (
    dicom_frames_beyond_data,
    dicom_htj2k,
    dicom_mpeg4,
    dicom_series_one_position,
    dicom_series_truncated_slice,
    dicom_short_pixel_data,
    mha_corrupt_zlib,
    nhdr_list,
    nhdr_list_short_part,
    nifti_kilometre_spacing,
    nrrd_micrometre_spacing,
)
from _io_builders import (
    sitk_volume,
    volume,
    write_dicom_series_one_position,
    write_nhdr,
    write_nifti,
    write_png16,
    write_sitk,
)
from fuzz_files import SPECIAL_CASES
from isolated import run_isolated
from vqseg_core.io import ImageLoadError, load_image
from vqseg_core.io.guards import MAX_SPACING_MM, MIN_SPACING_MM
from vqseg_core.io.sitk_formats import luminance

TESTS = str(Path(__file__).parents[2])
TIMEOUT = 60.0  # a cold interpreter importing SimpleITK on a busy 2-core machine


def _load_isolated(builder: str, tmp: Path, source: str = "SPECIAL_CASES"):
    body = f"""
import sys
sys.path.insert(0, {TESTS!r})
from pathlib import Path
import fuzz_files
from vqseg_core.io import ImageLoadError, load_image
image = load_image(fuzz_files.{source}[{builder!r}](Path({str(tmp)!r})))
result = (image.shape, float(image.array.max()))
"""
    return run_isolated(body, expect="ImageLoadError", timeout=TIMEOUT)


def _refused(path: Path) -> str:
    with pytest.raises(ImageLoadError) as info:
        load_image(path)
    assert path.name in str(info.value)
    return info.value.problem


# --- special files: isolated ------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(SPECIAL_CASES))
def test_fifos_are_refused_unopened_naming_the_file(tmp_path: Path, case: str) -> None:
    outcome = _load_isolated(case, tmp_path)
    assert outcome.kind == "error", outcome
    assert "FIFO" in outcome.message and "not a regular file" in outcome.message
    assert "pipe" in outcome.message or "slice_001.dcm" in outcome.message


@pytest.mark.parametrize("case", ["nhdr_dev_zero", "mhd_dev_zero"])
def test_dev_zero_as_data_file_is_refused_naming_it(tmp_path: Path, case: str) -> None:
    outcome = _load_isolated(case, tmp_path, source="CASES")
    assert outcome.kind == "error", outcome
    assert "/dev/zero" in outcome.message and "character device" in outcome.message


def test_blur_at_a_1e_7_mm_spacing_returns(tmp_path: Path) -> None:
    body = """
import numpy as np
from vqseg_core.perturb import corrupt
x = np.random.default_rng(0).random((32, 32, 8))
out = corrupt(x, "gaussian_blur", 2.0, spacing=(1e-7, 1e-7, 1e-7))
assert np.isfinite(out).all() and out.shape == x.shape
result = float(out.max() - out.min())
"""
    outcome = run_isolated(body, timeout=TIMEOUT)
    assert outcome.kind == "ok", outcome
    assert float(outcome.message) < 1e-3  # blurred flat: the sd spans millions of voxels


# --- garbage that used to load ----------------------------------------------------------------


def test_dicom_short_pixel_data_is_refused_with_the_sizes(tmp_path: Path) -> None:
    problem = _refused(dicom_short_pixel_data(tmp_path))
    assert "truncated pixel data" in problem and "8192" in problem and "1000" in problem


def test_dicom_frame_count_beyond_the_data_is_refused(tmp_path: Path) -> None:
    problem = _refused(dicom_frames_beyond_data(tmp_path))
    assert "5 frame(s)" in problem and "40960" in problem and "8192" in problem


def test_undecodable_mha_zlib_stream_is_refused(tmp_path: Path) -> None:
    problem = _refused(mha_corrupt_zlib(tmp_path))
    assert "cannot be decoded" in problem and "zlib" in problem


def test_truncated_compressed_detached_mhd_is_refused(tmp_path: Path) -> None:
    path = write_sitk(tmp_path / "cutz.mhd", sitk_volume(volume((4, 5, 6))), True)
    raw = next(tmp_path.glob("cutz.*raw"))
    raw.write_bytes(raw.read_bytes()[:-20])
    problem = _refused(path)
    assert raw.name in problem and ("truncated" in problem or "cannot be decoded" in problem)


def test_valid_detached_nrrd_still_loads(tmp_path: Path) -> None:
    data = volume((6, 5, 4))  # (z, y, x)
    (tmp_path / "ok.raw").write_bytes(data.astype("<i2").tobytes())
    image = load_image(write_nhdr(tmp_path / "ok.nhdr", "ok.raw", sizes="4 5 6"))
    assert image.shape == (4, 5, 6)
    assert sorted(image.array.ravel().tolist()) == sorted(data.ravel().astype(float).tolist())


def test_list_detached_nrrd_loads_and_a_short_part_is_named(tmp_path: Path) -> None:
    image = load_image(nhdr_list(tmp_path))
    assert image.shape == (6, 5, 4)
    assert image.array.sum() == volume((4, 5, 6)).sum()
    problem = _refused(nhdr_list_short_part(tmp_path))
    assert "truncated" in problem and "cutlist_2.raw" in problem


def test_detached_nrrd_with_short_data_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "short.raw").write_bytes(b"\0" * 100)
    assert "truncated" in _refused(write_nhdr(tmp_path / "short.nhdr", "short.raw"))


# --- unclear errors made clear ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("builder", "name"),
    [(dicom_htj2k, "High-Throughput JPEG 2000"), (dicom_mpeg4, "MPEG-4 AVC/H.264")],
)
def test_unsupported_transfer_syntax_is_named(tmp_path: Path, builder, name: str) -> None:
    problem = _refused(builder(tmp_path))
    assert "compressed transfer syntax" in problem and name in problem
    assert "not supported" in problem and "Implicit" not in problem


def test_permission_denied_is_named_as_such(tmp_path: Path, monkeypatch) -> None:
    path = write_nifti(tmp_path / "locked.nii", volume())
    real_open = os.open

    def denied(file, *args, **kwargs):
        if Path(file) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)  # root ignores chmod 000, so deny the open itself
    problem = _refused(path)
    assert "permission denied" in problem and "NIfTI" not in problem


def test_truncated_slice_is_named_not_reported_as_spacing(tmp_path: Path) -> None:
    problem = _refused(dicom_series_truncated_slice(tmp_path))
    assert "slice_001.dcm" in problem and "truncated" in problem
    assert "uniformly spaced" not in problem


# --- values kept ------------------------------------------------------------------------------


def _rgb16() -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.integers(0, 65536, (9, 7, 3), dtype=np.uint16)


@pytest.mark.parametrize("channels", [3, 4])
def test_16_bit_colour_png_keeps_its_range(tmp_path: Path, channels: int) -> None:
    rgb = _rgb16()
    data = rgb if channels == 3 else np.dstack([rgb, np.full(rgb.shape[:2], 9, np.uint16)])
    image = load_image(write_png16(tmp_path / f"c{channels}.png", data))
    np.testing.assert_allclose(image.array, luminance(rgb), rtol=1e-6)
    assert image.array.max() > 255
    assert any("16-bit range kept" in n for n in image.notes)


def test_16_bit_grey_alpha_png_keeps_the_grey_exactly(tmp_path: Path) -> None:
    grey = _rgb16()[..., 0]
    data = np.dstack([grey, np.full(grey.shape, 1234, np.uint16)])
    image = load_image(write_png16(tmp_path / "la.png", data))
    np.testing.assert_array_equal(image.array, grey.astype(np.float32))
    assert any("alpha dropped, 16-bit range kept" in n for n in image.notes)


def test_cmyk_jpeg_is_converted_not_read_as_rgba(tmp_path: Path) -> None:
    rgb = np.zeros((16, 24, 3), np.uint8)
    rgb[:, :8] = (200, 30, 30)
    rgb[:, 8:16] = (30, 200, 30)
    rgb[:, 16:] = (30, 30, 200)
    PILImage.fromarray(rgb).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    image = load_image(tmp_path / "cmyk.jpg")
    expected = luminance(rgb)
    np.testing.assert_allclose(image.array[4:-4, 2:6], expected[4:-4, 2:6], atol=4)
    np.testing.assert_allclose(image.array[4:-4, 10:14], expected[4:-4, 10:14], atol=4)
    assert any("CMYK" in n for n in image.notes)


def test_series_at_one_position_without_spacing_is_refused(tmp_path: Path) -> None:
    assert "share one position" in _refused(dicom_series_one_position(tmp_path))


def test_series_at_one_position_takes_the_header_thickness(tmp_path: Path) -> None:
    data = volume((3, 4, 4))
    image = load_image(write_dicom_series_one_position(tmp_path / "s", data, "2.5"))
    assert image.spacing == pytest.approx((0.75, 0.8, 2.5))
    assert any("SliceThickness" in n and "InstanceNumber" in n for n in image.notes)
    # InstanceNumber runs backwards through the files: the last file is the first slice
    np.testing.assert_array_equal(image.array[0, 0, :], data[::-1, 3, 3])


@pytest.mark.parametrize("builder", [nrrd_micrometre_spacing, nifti_kilometre_spacing])
def test_extreme_spacing_is_refused_with_the_bounds(tmp_path: Path, builder) -> None:
    problem = _refused(builder(tmp_path))
    assert "voxel spacing" in problem and f"{MIN_SPACING_MM:g} .. {MAX_SPACING_MM:g} mm" in problem


@pytest.mark.parametrize("mm", [MIN_SPACING_MM, MAX_SPACING_MM])
def test_spacing_at_the_bounds_loads(tmp_path: Path, mm: float) -> None:
    image = load_image(write_nifti(tmp_path / "edge.nii", volume(), np.diag([mm, mm, mm, 1.0])))
    assert image.spacing == pytest.approx((mm, mm, mm), rel=1e-6)
