"""Credentials never reach a file, a report, a log or an error message.

Two tools: :func:`find_secrets` names the places in a config that hold one (by key name at any
depth, and by value shape: bearer tokens, provider keys, user-info in URLs, key parameters in
query strings), so the config can be refused without echoing the value; :func:`scrub_text`
masks the same shapes in free text (a provider's error body that echoes an Authorization
header, an exception message) before it is stored or shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

MASK = "[REDACTED]"
SECRET_KEY = re.compile(
    r"(^|[_-])(api[_-]?key|apikey|key|authorization|auth|token|access[_-]?token|secret|"
    r"password|passwd|bearer|cookie|x[_-]api[_-]key|credentials?)$",
    re.IGNORECASE,
)
NOT_SECRET = re.compile(
    r"(^|_)(max|min|input|output|prompt|completion|total|new|stop)_tokens?$|^keys$",
    re.IGNORECASE,
)
_SHAPES = [
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_-]{8,}"),
    re.compile(r"\b(xai|gsk|hf|ghp|github_pat|AIza)[-_A-Za-z0-9]{12,}"),
    re.compile(r"(?i)\b(api[_-]?key|key|token|access_token|secret|password)=[^&\s\"']+"),
    re.compile(r"(?i)(\"?(?:authorization|x-api-key|api[_-]?key)\"?\s*[:=]\s*\"?)[^\"',}\s]+"),
]
# a scheme is short: bounded, so a long dotted word is not rescanned from each of its letters
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{0,31}://)[^/\s:@]++(:[^/\s@]*+)?@")


def is_secret_key(name: str) -> bool:
    """Whether a mapping key names a credential (``Authorization``, ``api_key``, ``x-api-key``)."""
    return bool(SECRET_KEY.search(name)) and not NOT_SECRET.search(name)


def has_secret_shape(text: str) -> bool:
    """Whether a string looks like it carries a credential."""
    return bool(_USERINFO.search(text)) or any(p.search(text) for p in _SHAPES)


def find_secrets(value: Any, where: str = "") -> Iterator[str]:
    """Dotted paths of every place in a JSON-like value that holds a credential."""
    if isinstance(value, dict):
        for key, child in value.items():
            path = f"{where}.{key}" if where else str(key)
            if is_secret_key(str(key)) and child not in (None, "", {}, []):
                yield path
            else:
                yield from find_secrets(child, path)
    elif isinstance(value, list | tuple):
        for index, child in enumerate(value):
            yield from find_secrets(child, f"{where}[{index}]")
    elif isinstance(value, str) and has_secret_shape(value):
        yield where


def scrub_text(text: str) -> str:
    """``text`` with every credential-shaped part masked."""
    out = _USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    for pattern in _SHAPES:
        if pattern.groups and pattern.pattern.startswith('(?i)(\\"?'):
            out = pattern.sub(lambda m: f"{m.group(1)}{MASK}", out)
        else:
            out = pattern.sub(MASK, out)
    return out


def scrub(value: Any) -> Any:
    """A copy of a JSON-like value with credentials masked (by key name and by value shape)."""
    if isinstance(value, dict):
        return {
            k: (MASK if is_secret_key(str(k)) and v not in (None, "") else scrub(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value
