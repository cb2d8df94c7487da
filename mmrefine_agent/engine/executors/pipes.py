"""Messages between the driver and its worker processes: length-prefixed pickles over pipes.

Both ends are this package (the driver and the child it started with ``python -m``), so the
pickles are trusted: nothing else writes to these pipes. A message is an 8-byte big-endian
length and a pickle; a tuple whose first element names what it is (see proc_worker.py).
"""

from __future__ import annotations

import asyncio
import os
import pickle
import struct
from typing import Any

HEADER = struct.Struct(">Q")


def encode(message: object) -> bytes:
    """One framed message (length prefix and pickle)."""
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


async def read_message(reader: asyncio.StreamReader) -> Any:
    """The next message; raises ``asyncio.IncompleteReadError`` when the other end closed."""
    (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
    return pickle.loads(await reader.readexactly(size))


async def fd_streams(
    read_fd: int, write_fd: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Asyncio streams over two pipe file descriptors (a worker's end of its pipes)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", buffering=0)
    )
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(write_fd, "wb", buffering=0)
    )
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    return reader, writer
