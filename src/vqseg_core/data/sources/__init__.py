"""Dataset sources ``vqseg-data prepare`` knows, one module each (see :data:`SOURCES`)."""

from __future__ import annotations

from vqseg_core.data.sources import (
    brain_colin27,
    brain_mni152,
    btcv,
    chest_cr,
    ct_organs,
    jsrt,
    montgomery,
    montgomery_shenzhen,
    msd,
    prostate,
    shenzhen,
)
from vqseg_core.data.sources._base import (
    DataSource,
    PrepareRequest,
    SourceMissingError,
    prepare_out,
)

SOURCES: dict[str, DataSource] = {
    m.SOURCE.name: m.SOURCE
    for m in (
        jsrt,
        shenzhen,
        montgomery,
        montgomery_shenzhen,
        btcv,
        prostate,
        msd,
        ct_organs,
        brain_colin27,
        brain_mni152,
        chest_cr,
    )
}


def get_source(name: str) -> DataSource:
    """The source ``name``; ``ValueError`` listing the known names otherwise."""
    try:
        return SOURCES[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(SOURCES)}") from None


def prepare(name: str, request: PrepareRequest, *, force: bool = False) -> dict:
    """Build dataset ``name`` into ``request.out``; returns the written ``dataset.json``.

    Raises:
        ValueError: Unknown name, existing output without ``force``, malformed raw data.
        SourceMissingError: Raw data absent (its ``install`` attribute says how to get it).
    """
    source = get_source(name)
    raw = source.resolve(request.source)
    prepare_out(request.out, force)
    return source.build(request, raw)


__all__ = ["SOURCES", "DataSource", "PrepareRequest", "SourceMissingError", "get_source", "prepare"]
