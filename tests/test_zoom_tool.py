"""The ``zoom`` tool: a region of the item's image, enlarged, as the call's image result."""

from __future__ import annotations

import asyncio
import io
from dataclasses import replace

import pytest
from PIL import Image as PILImage

from mmrefine_agent import Image, ToolBox, ToolCall, ToolContext, run_tool_call, tool_context
from mmrefine_agent.errors import PluginError
from mmrefine_agent.plugins_manager import load_plugins
from mmrefine_agent.types import Item
from mmrefine_plugins.tools.zoom import zoom_image


def quadrants() -> Image:
    """A 200x100 image: left half red, right half blue."""
    picture = PILImage.new("RGB", (200, 100), "red")
    picture.paste(PILImage.new("RGB", (100, 100), "blue"), (100, 0))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return Image.from_bytes(buffer.getvalue())


ITEM = Item(key="k", id="1", question="q", options=(), image=quadrants(), answer="",
            initial_solution="", label="correct", reference_feedback=None, error_type=None,
            source="s")  # fmt: skip


def zoom(box: object, item: Item = ITEM) -> tuple[str, Image | None, bool]:
    tools = ToolBox({"zoom": load_plugins().tools.get("zoom")})
    call = ToolCall("z1", "zoom", {"box": box})
    run = asyncio.run(run_tool_call(call, tools, ToolContext(item, "detect", 1, "z1")))
    return run.result.text, run.result.image, run.result.error


def colours(image: Image) -> set[tuple[int, int, int]]:
    with PILImage.open(io.BytesIO(image.data)) as picture:
        return {colour for _count, colour in picture.convert("RGB").getcolors(1 << 20)}


def test_the_right_half_is_cropped_and_enlarged() -> None:
    text, image, error = zoom([0.5, 0, 1, 1])
    assert not error and image is not None
    assert text.startswith("zoomed into [0.5, 0, 1, 1] of the image: pixels (100, 0)-(200, 100)")
    assert (image.width, image.height) == (768, 768)
    assert colours(image) == {(0, 0, 255)}
    assert image.mime == "image/png"


def test_a_small_region_is_enlarged_at_most_eight_times() -> None:
    _text, image, _error = zoom([0, 0, 0.05, 0.1])  # 10x10 pixels
    assert image is not None and (image.width, image.height) == (80, 80)
    assert colours(image) == {(255, 0, 0)}


@pytest.mark.parametrize(
    ("box", "reason"),
    [
        ([0, 0, 2, 1], "fractions of the width and height"),
        ([0.5, 0.5, 0.2, 0.9], "x0 < x1 and y0 < y1"),
        ([0, 0, 0.01, 0.01], "too small to enlarge"),
        ([0, 0, 1], "invalid arguments: box"),
        ("top left", "invalid arguments: box"),
    ],
)
def test_a_bad_box_is_a_result_the_model_reads(box: object, reason: str) -> None:
    text, image, error = zoom(box)
    assert error and image is None
    assert reason in text


def test_an_item_without_an_image_says_so() -> None:
    text, image, error = zoom([0, 0, 1, 1], replace(ITEM, image=None))
    assert error and image is None and "no image" in text


def test_zoom_image_is_plain_pillow_work() -> None:
    text, image = zoom_image(quadrants(), [0, 0, 0.5, 1])
    assert colours(image) == {(255, 0, 0)} and "of 200x100" in text


def test_the_tool_context_exists_only_during_a_call() -> None:
    with pytest.raises(PluginError, match="only available while the framework runs a tool call"):
        tool_context()
