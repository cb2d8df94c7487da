"""``zoom(box)``: a region of the item's image, enlarged, returned to the model as an image.

``box`` is ``[x0, y0, x1, y1]`` in fractions of the image's width and height (``[0, 0, 0.5,
0.5]`` is the top-left quarter). The region is cropped from the item's image (read from the
call's :func:`~mmrefine_agent.tool_context`) and enlarged with Pillow (Lanczos) so its longer
side is :data:`TARGET_SIDE` pixels (at most :data:`MAX_SCALE` times its size, never shrunk).
The tool returns a line describing what it did, and the PNG as its artifact: the framework
stores it once in the run directory and sends it to the model after the tool result.
"""

from __future__ import annotations

import io
from typing import Annotated

from pydantic import Field

from mmrefine_agent import Image, RegisterTool, hookimpl, tool_context

TARGET_SIDE = 768
MAX_SCALE = 8.0
MIN_PIXELS = 4
"""The smallest region (in pixels of the original, per side) worth enlarging."""

Box = Annotated[
    list[float],
    Field(min_length=4, max_length=4, description="[x0, y0, x1, y1], fractions 0..1"),
]


def zoom_image(image: Image, box: list[float]) -> tuple[str, Image]:
    """The region ``box`` of ``image`` enlarged, and a line saying what it is."""
    from PIL import Image as PILImage

    x0, y0, x1, y1 = (float(v) for v in box)
    if not all(0.0 <= v <= 1.0 for v in (x0, y0, x1, y1)):
        raise ValueError("box values are fractions of the width and height, from 0 to 1")
    if not (x0 < x1 and y0 < y1):
        raise ValueError("box is [x0, y0, x1, y1] with x0 < x1 and y0 < y1")
    with PILImage.open(io.BytesIO(image.data)) as source:
        picture = source.convert("RGB")
    width, height = picture.size
    left, top = round(x0 * width), round(y0 * height)
    right, bottom = max(left + 1, round(x1 * width)), max(top + 1, round(y1 * height))
    if right - left < MIN_PIXELS or bottom - top < MIN_PIXELS:
        raise ValueError(
            f"the region is {right - left}x{bottom - top} pixels of a {width}x{height} image: "
            "too small to enlarge; choose a larger box"
        )
    region = picture.crop((left, top, right, bottom))
    scale = min(MAX_SCALE, TARGET_SIDE / max(region.size))
    if scale > 1.0:
        size = (round(region.width * scale), round(region.height * scale))
        region = region.resize(size, PILImage.Resampling.LANCZOS)
    buffer = io.BytesIO()
    region.save(buffer, format="PNG", optimize=True)
    out = Image.from_bytes(buffer.getvalue())
    text = (
        f"zoomed into [{x0:g}, {y0:g}, {x1:g}, {y1:g}] of the image: pixels ({left}, {top})-"
        f"({right}, {bottom}) of {width}x{height}, shown at {out.width}x{out.height}"
    )
    return text, out


def zoom(box: Box) -> tuple[str, Image]:
    """Look closer at a region of the problem's image: returns that region enlarged.

    Args:
        box: the region as [x0, y0, x1, y1], fractions of the image's width and height
            (0 is the left/top edge, 1 the right/bottom edge), e.g. [0.5, 0, 1, 0.5] for
            the top-right quarter.
    """
    from langchain_core.tools import ToolException

    image = tool_context().item.image
    if image is None:
        raise ToolException("this problem has no image to zoom into")
    try:
        return zoom_image(image, box)
    except ValueError as exc:
        raise ToolException(str(exc)) from None


@hookimpl
def mmrefine_register_tools(register: RegisterTool) -> None:
    """Register ``zoom``."""
    from langchain_core.tools import tool

    register(tool("zoom", parse_docstring=True, response_format="content_and_artifact")(zoom))
