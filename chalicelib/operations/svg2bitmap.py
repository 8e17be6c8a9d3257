"""svg2bitmap: rasterise an SVG source (rokka uses a browser engine; here it is resvg).

SVG sources are drawn to pixels when the render opens them anyway (for every raster output),
so for those outputs this operation changes nothing. What it does change is `.svg` output:
with svg2bitmap in the stack the result is no longer the SVG text but the rendered raster
(inside a minimal SVG document). See chalicelib/render/pipeline.py. On other sources it does
nothing.
"""
from __future__ import annotations

from chalicelib.operations.base import OperationSpec


def apply(ctx, opts: dict) -> None:
    """The working image is already a raster; the pipeline reads this operation's presence."""


SPEC = OperationSpec(
    name="svg2bitmap",
    options={},
    apply=apply,
    description="Rasterises an SVG source image (forces a raster result even for .svg output).",
)
