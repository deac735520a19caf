"""Writers of small valid and malformed image files for the io tests (all under tmp_path)."""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import nibabel as nib
import numpy as np
import SimpleITK as sitk
import skimage.io

from vqseg_core.io._dicom_bytes import encode_file, grey_image_elements


def volume(shape: tuple[int, ...] = (6, 5, 4), dtype: type = np.int16) -> np.ndarray:
    """Distinct, non-symmetric voxel values (catches any transposition or flip)."""
    return (np.arange(int(np.prod(shape))).reshape(shape) * 3 - 20).astype(dtype)


def write_nifti(path: Path, data: np.ndarray, affine: np.ndarray | None = None) -> Path:
    """A NIfTI-1 file with ``affine`` (default: 1x2x3 mm, RAS) in qform and sform."""
    affine = np.diag([1.0, 2.0, 3.0, 1.0]) if affine is None else affine
    img = nib.Nifti1Image(data, affine)
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    nib.save(img, str(path))
    return path


def patch(path: Path, offset: int, fmt: str, *values: float) -> Path:
    """Overwrite packed little-endian ``values`` at ``offset`` in an uncompressed file."""
    raw = bytearray(path.read_bytes())
    packed = struct.pack("<" + fmt, *values)
    raw[offset : offset + len(packed)] = packed
    path.write_bytes(bytes(raw))
    return path


def truncate(path: Path, keep: int | float) -> Path:
    """Keep the first ``keep`` bytes (int) or fraction (float) of a file."""
    raw = path.read_bytes()
    n = int(len(raw) * keep) if isinstance(keep, float) else keep
    path.write_bytes(raw[:n])
    return path


def gzip_file(src: Path, dst: Path) -> Path:
    """Gzip ``src`` into ``dst``."""
    dst.write_bytes(gzip.compress(src.read_bytes()))
    return dst


def sitk_volume(
    data_zyx: np.ndarray,
    spacing: tuple[float, ...] = (0.7, 0.8, 2.5),
    origin: tuple[float, ...] = (10.0, -20.0, 30.0),
    direction: tuple[float, ...] | None = None,
) -> sitk.Image:
    """A SimpleITK image from a numpy (z, y, x) array with the given LPS geometry."""
    img = sitk.GetImageFromArray(data_zyx)
    img.SetSpacing(spacing)
    img.SetOrigin(origin)
    if direction is not None:
        img.SetDirection(direction)
    return img


def write_sitk(path: Path, image: sitk.Image, compress: bool = False) -> Path:
    """Write with SimpleITK (``.nrrd``, ``.mha``, ``.mhd``)."""
    sitk.WriteImage(image, str(path), useCompression=compress)
    return path


def rotation(angle_deg: float, axis: int = 2) -> np.ndarray:
    """A 3x3 rotation matrix about one axis."""
    a = np.deg2rad(angle_deg)
    c, s = np.cos(a), np.sin(a)
    rot = np.eye(3)
    i, j = [k for k in range(3) if k != axis]
    rot[i, i], rot[i, j], rot[j, i], rot[j, j] = c, -s, s, c
    return rot


def write_dicom_series(
    folder: Path,
    data_zyx: np.ndarray,
    spacing: tuple[float, float, float] = (0.75, 0.8, 2.5),
    origin: tuple[float, float, float] = (-50.0, -60.0, 100.0),
    direction: np.ndarray | None = None,
    series_uid: str = "1.2.826.0.1.3680043.2.1125.1",
) -> Path:
    """Write a CT-like int16 DICOM series, one file per slice (SimpleITK per-slice writing)."""
    folder.mkdir(parents=True, exist_ok=True)
    rot = np.eye(3) if direction is None else np.asarray(direction, dtype=float)
    row_dir, col_dir, normal = rot[:, 0], rot[:, 1], rot[:, 2]
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    for k, plane in enumerate(data_zyx):
        sl = sitk.GetImageFromArray(plane.astype(np.int16))
        sl.SetSpacing(spacing[:2])
        pos = np.asarray(origin) + k * spacing[2] * normal
        tags = {
            "0008|0060": "CT",
            "0008|0016": "1.2.840.10008.5.1.4.1.1.2",
            "0008|0018": f"{series_uid}.{k + 1}",
            "0020|000d": "1.2.826.0.1.3680043.2.1125.9",
            "0020|000e": series_uid,
            "0020|0013": str(k + 1),
            "0020|0032": "\\".join(f"{v:.6f}" for v in pos),
            "0020|0037": "\\".join(f"{v:.6f}" for v in (*row_dir, *col_dir)),
            "0018|0050": str(spacing[2]),
            "0028|0030": f"{spacing[1]}\\{spacing[0]}",
            "0028|1052": "0",
            "0028|1053": "1",
        }
        for key, value in tags.items():
            sl.SetMetaData(key, value)
        writer.SetFileName(str(folder / f"slice_{k:03d}.dcm"))
        writer.Execute(sl)
    return folder


def write_dicom_grey(
    path: Path,
    pixels: np.ndarray,
    photometric: str = "MONOCHROME2",
    bits_stored: int = 12,
    extra: list | None = None,
) -> Path:
    """A hand-encoded one-frame uint16 DICOM (explicit VR little endian)."""
    rows, cols = pixels.shape
    elements = grey_image_elements(
        pixels.astype("<u2").tobytes(), rows, cols, photometric, bits_stored
    )
    extra = list(extra or [])
    overridden = {(e[0], e[1]) for e in extra}
    elements = [e for e in elements if (e[0], e[1]) not in overridden]
    path.write_bytes(encode_file(elements + extra))
    return path


def write_dicom_without_pixels(path: Path) -> Path:
    """A valid DICOM object that holds no image (like a structured report)."""
    elements = [
        (0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.88.11"),
        (0x0008, 0x0018, "UI", "1.2.3.4.5.6.7.8.9"),
        (0x0008, 0x0060, "CS", "SR"),
        (0x0010, 0x0010, "PN", "Anon^Nobody"),
    ]
    path.write_bytes(encode_file(elements, sop_class="1.2.840.10008.5.1.4.1.1.88.11"))
    return path


def write_png(path: Path, data: np.ndarray) -> Path:
    """Lossless PNG via scikit-image."""
    skimage.io.imsave(path, data, check_contrast=False)
    return path


def write_png16(path: Path, data: np.ndarray) -> Path:
    """A 16-bit PNG written by hand: grey ``(H, W)``, grey+alpha ``(H, W, 2)``, RGB or RGBA.

    Neither Pillow nor scikit-image writes 16-bit colour PNGs; this encoder (filter 0, one IDAT
    chunk) does.
    """
    arr = np.asarray(data, dtype=">u2")
    bands = 1 if arr.ndim == 2 else arr.shape[-1]
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[bands]
    height, width = arr.shape[:2]
    rows = arr.reshape(height, width * bands)
    raw = b"".join(b"\0" + row.tobytes() for row in rows)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw))
    path.write_bytes(png + chunk(b"IEND", b""))
    return path


def write_dicom_raw_pixels(
    path: Path, pixel_bytes: bytes, rows: int, cols: int, extra: list | None = None
) -> Path:
    """A one-frame 16-bit grey DICOM whose Pixel Data holds exactly ``pixel_bytes``."""
    elements = grey_image_elements(pixel_bytes, rows, cols, "MONOCHROME2")
    path.write_bytes(encode_file(elements + list(extra or [])))
    return path


def write_dicom_encapsulated(
    path: Path, transfer_syntax: str, rows: int = 8, cols: int = 8
) -> Path:
    """A DICOM declaring ``transfer_syntax`` with one encapsulated fragment of junk."""
    elements = [e for e in grey_image_elements(b"", rows, cols, "MONOCHROME2") if e[0] != 0x7FE0]
    fragment = bytes(range(64))
    pixel = (
        struct.pack("<HH", 0x7FE0, 0x0010) + b"OB\0\0" + struct.pack("<I", 0xFFFFFFFF)
        + struct.pack("<HHI", 0xFFFE, 0xE000, 0)
        + struct.pack("<HHI", 0xFFFE, 0xE000, len(fragment)) + fragment
        + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    )  # fmt: skip
    path.write_bytes(encode_file(elements, transfer_syntax=transfer_syntax, tail=pixel))
    return path


def write_dicom_series_one_position(
    folder: Path, data_zyx: np.ndarray, thickness: str | None
) -> Path:
    """A hand-encoded series whose slices all share one ImagePositionPatient, with
    SliceThickness ``thickness`` (``None``: no thickness or spacing tag at all) and
    InstanceNumbers in reverse file order."""
    folder.mkdir(parents=True, exist_ok=True)
    n, rows, cols = data_zyx.shape
    for k, plane in enumerate(data_zyx):
        elements = [
            e
            for e in grey_image_elements(
                plane.astype("<u2").tobytes(), rows, cols, "MONOCHROME2", bits_stored=16
            )
            if (e[0], e[1]) not in ((0x0008, 0x0018), (0x0008, 0x0060))
        ]
        elements += [
            (0x0008, 0x0018, "UI", f"1.2.826.0.1.3680043.2.1125.7.{k + 1}"),
            (0x0008, 0x0060, "CS", "CT"),
            (0x0020, 0x000D, "UI", "1.2.826.0.1.3680043.2.1125.9"),
            (0x0020, 0x000E, "UI", "1.2.826.0.1.3680043.2.1125.7"),
            (0x0020, 0x0013, "IS", str(n - k)),
            (0x0020, 0x0032, "DS", "-50\\-60\\100"),
            (0x0020, 0x0037, "DS", "1\\0\\0\\0\\1\\0"),
            (0x0028, 0x0030, "DS", "0.8\\0.75"),
        ]
        if thickness is not None:
            elements.append((0x0018, 0x0050, "DS", thickness))
        (folder / f"slice_{k:03d}.dcm").write_bytes(encode_file(elements))
    return folder


def write_nhdr(path: Path, data_file: str, sizes: str = "4 5 6", encoding: str = "raw") -> Path:
    """A detached NRRD header (short voxels) naming ``data_file``."""
    path.write_text(
        f"NRRD0004\ntype: short\ndimension: 3\nsizes: {sizes}\nencoding: {encoding}\n"
        f"endian: little\ndata file: {data_file}\n\n",
        encoding="ascii",
    )
    return path


def write_mhd(path: Path, data_file: str, dims: str = "4 5 6") -> Path:
    """A detached MetaImage header (short voxels) naming ``data_file``."""
    path.write_text(
        f"ObjectType = Image\nNDims = 3\nDimSize = {dims}\nElementType = MET_SHORT\n"
        f"ElementDataFile = {data_file}\n",
        encoding="ascii",
    )
    return path
