"""Read one string from a GGUF file's metadata (the chat template) without loading the model.

A GGUF file starts with its metadata: magic ``GGUF``, a version (2 or 3), the tensor count,
the key/value count, then each key (a length-prefixed string), its value type and value. Only
the keys are walked until the wanted one; nothing past the metadata is read.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}  # fmt: skip
_STRING, _ARRAY = 8, 9
MAX_STRING = 16 * 2**20
"""A longer string than this is a corrupt file (a chat template is a few kilobytes)."""


class GGUFError(ValueError):
    """The file is not a GGUF file this reader understands."""


def _read(handle: BinaryIO, size: int) -> bytes:
    data = handle.read(size)
    if len(data) != size:
        raise GGUFError("the file ends inside its metadata")
    return data


def _string(handle: BinaryIO) -> bytes:
    (size,) = struct.unpack("<Q", _read(handle, 8))
    if size > MAX_STRING:
        raise GGUFError(f"a metadata string of {size} bytes")
    return _read(handle, size)


def _skip(handle: BinaryIO, kind: int) -> None:
    if kind == _STRING:
        _string(handle)
    elif kind == _ARRAY:
        item, count = struct.unpack("<IQ", _read(handle, 12))
        if item in (_STRING, _ARRAY):
            for _ in range(count):
                _skip(handle, item)
        elif item in _SCALARS:
            handle.seek(struct.calcsize(_SCALARS[item]) * count, 1)
        else:
            raise GGUFError(f"unknown array type {item}")
    elif kind in _SCALARS:
        handle.seek(struct.calcsize(_SCALARS[kind]), 1)
    else:
        raise GGUFError(f"unknown value type {kind}")


def metadata_string(path: Path, key: str) -> str | None:
    """The string value of ``key`` in the GGUF metadata of ``path`` (None when absent).

    Raises GGUFError for a file that is not GGUF (or is cut short), OSError if unreadable.
    """
    with path.open("rb") as handle:
        if _read(handle, 4) != b"GGUF":
            raise GGUFError(f"{path.name} is not a GGUF file")
        (version,) = struct.unpack("<I", _read(handle, 4))
        if version not in (2, 3):
            raise GGUFError(f"GGUF version {version} is not one this reader knows (2, 3)")
        _tensors, count = struct.unpack("<QQ", _read(handle, 16))
        wanted = key.encode("utf-8")
        for _ in range(count):
            name = _string(handle)
            (kind,) = struct.unpack("<I", _read(handle, 4))
            if name == wanted and kind == _STRING:
                return _string(handle).decode("utf-8", "replace")
            _skip(handle, kind)
    return None


def write_metadata(path: Path, values: dict[str, str]) -> None:
    """A GGUF file holding only string metadata (for tests of the readers above)."""
    with path.open("wb") as handle:
        handle.write(b"GGUF" + struct.pack("<IQQ", 3, 0, len(values)))
        for key, value in values.items():
            name, data = key.encode("utf-8"), value.encode("utf-8")
            handle.write(struct.pack("<Q", len(name)) + name)
            handle.write(struct.pack("<IQ", _STRING, len(data)) + data)
