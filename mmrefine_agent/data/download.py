"""``mmrefine data download``: fetch the benchmark parquet into the user cache (online only)."""

from __future__ import annotations

import hashlib
import urllib.request
from pathlib import Path

from mmrefine_agent.data.datadir import PARQUET_NAME, PROMPTS_NAME, user_cache_root
from mmrefine_agent.errors import DataError

PARQUET_URL = "https://raw.githubusercontent.com/naver-ai/MMRefine/main/data/MMRefine_test.parquet"
PARQUET_SHA256 = "b5f2d9f3039cfa8fe0a9d7ab00c439460f32df5fb14993c719559c5af6719087"


def download_data(target: str | None = None, *, timeout_s: float = 60.0) -> Path:
    """Download and checksum the parquet; the prompts file must be supplied separately."""
    directory = Path(target) if target else user_cache_root() / "data"
    directory.mkdir(parents=True, exist_ok=True)
    destination = directory / PARQUET_NAME
    try:
        with urllib.request.urlopen(PARQUET_URL, timeout=timeout_s) as response:
            data = response.read()
    except OSError as exc:
        raise DataError(f"cannot download {PARQUET_URL}: {exc} (is this machine online?)") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != PARQUET_SHA256:
        raise DataError(f"downloaded parquet has sha256 {digest}, expected {PARQUET_SHA256}")
    tmp = destination.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(destination)
    if not (directory / PROMPTS_NAME).is_file():
        raise DataError(
            f"parquet saved to {destination}, but {PROMPTS_NAME} (the official prompts, as "
            f"JSON) is not published as a file: copy it from a source checkout's shared/data"
        )
    return directory
