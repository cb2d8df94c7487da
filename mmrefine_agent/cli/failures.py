"""Failures counted per cause, with the first message of each (what every command prints).

    judge errors 8: reply not 0/1 (6), missing credentials (2); see judgments.jsonl
      first reply not 0/1: KEY: eval_correct: reply is not 0/1 after 3 attempt(s): '...'

A cause is read from the one-line error an item was recorded with (``KEY: status: message``);
messages that match no known cause are grouped by their first clause (whole words, at most
eight, ``...`` when cut), after the file/row/key prefix of a data error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from rich.console import Console

from mmrefine_agent.cli.safe_text import safe

# (cause, lower-case fragments that identify it); the first match wins, so credentials come
# before the server errors some clients wrap them in.
CAUSES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("missing credentials", ("missing credentials", "api_key client option", "is not set (")),
    ("authentication failed", ("authenticationerror", "http 401", "incorrect api key")),
    ("permission denied", ("permissiondeniederror", "http 403")),
    ("model not found", ("notfounderror", "http 404", "model_not_found", "does not exist")),
    ("reply not 0/1", ("is not 0/1",)),
    ("reply too large", ("reply too large",)),
    ("Retry-After over the cap", ("max_retry_after_s",)),
    ("rate limited", ("ratelimiterror", "http 429")),
    ("context too long", ("contextwindowexceeded", "context size", "context length")),
    ("timed out", ("timeouterror", "timed out", "timeout")),
    ("server unreachable", ("connection refused", "cannot connect", "cannot reach")),
    ("server unreachable", ("apiconnectionerror", "clientconnectorerror")),
    ("server error", ("internalservererror", "serviceunavailable", "http 5", "bad gateway")),
    ("budget reached", ("max_cost_usd", "budget")),
)
LABELS = {
    "judge_error": "judge errors",
    "backend_error": "model call errors",
    "strategy_error": "strategy errors",
    "data_error": "data errors",
    "budget": "over budget",
}
SEE = {"judge_error": "judgments.jsonl", "strategy_error": "steps.jsonl"}
_PREFIX = re.compile(r"^(?:[\w:.-]+: )*?failed after \d+ attempt\(s\): ")


MAX_WORDS = 8


def cause_of(message: str) -> str:
    """The cause of one failure message, in a few whole words."""
    text = message.lower()
    for cause, fragments in CAUSES:
        if any(fragment in text for fragment in fragments):
            return cause
    return first_clause(_without_location(_PREFIX.sub("", message))) or "unknown"


def _without_location(message: str) -> str:
    """A data error's message without its ``FILE: row N (key K): `` prefix."""
    key = message.find(" (key ")
    end = message.find("): ", key) if key >= 0 else -1
    return message[end + 3 :] if end >= 0 else message


def first_clause(text: str) -> str:
    """The words up to the first ``:``, ``;`` or ``,`` that ends three or more words.

    At most MAX_WORDS words (``...`` marks a cut): never a word cut in the middle.
    """
    words = text.split()
    taken: list[str] = []
    for word in words:
        taken.append(word)
        if len(taken) >= 3 and word.endswith((":", ";", ",")):
            break
        if len(taken) == MAX_WORDS:
            if len(words) > MAX_WORDS:
                taken[-1] += "..."
            break
    return " ".join(taken).rstrip(":;,")


@dataclass
class Group:
    """The failures of one status: count per cause and the first line of each cause."""

    status: str
    count: int = 0
    causes: dict[str, int] = field(default_factory=dict)
    first: dict[str, str] = field(default_factory=dict)


def group_failures(lines: Iterable[str]) -> list[Group]:
    """Failure lines (``KEY: status: message``) grouped by status, then by cause."""
    groups: dict[str, Group] = {}
    for line in lines:
        parts = line.split(": ", 2)
        if len(parts) == 3 and parts[1].isidentifier():
            status, message = parts[1], parts[2]
        elif " (key " in line:  # a bad row as a dataset reports it (FILE: row N (key K): ...)
            status, message = "data_error", line
        else:
            status, message = "error", line
        group = groups.setdefault(status, Group(status))
        cause = cause_of(message)
        group.count += 1
        group.causes[cause] = group.causes.get(cause, 0) + 1
        group.first.setdefault(cause, line)
    for group in groups.values():
        group.causes = dict(sorted(group.causes.items(), key=lambda kv: -kv[1]))
    return list(groups.values())


def summary_lines(lines: Iterable[str], width: int = 240) -> list[str]:
    """The printed summary: one line per status, then the first message of each cause."""
    out: list[str] = []
    for group in group_failures(lines):
        causes = ", ".join(f"{cause} ({n})" for cause, n in group.causes.items())
        label = LABELS.get(group.status, group.status)
        see = SEE.get(group.status, "results.jsonl")
        out.append(f"{label} {group.count}: {causes}; see {see}")
        for cause in group.causes:
            first = " ".join(group.first[cause].split())
            clipped = first if len(first) <= width else first[: width - 3] + "..."
            out.append(f"  first {cause}: {clipped}")
    return out


def print_failures(console: Console, lines: Iterable[str]) -> None:
    """Print the per-cause summary (model text made safe; nothing when there is none)."""
    for line in summary_lines(lines):
        style = None if line.startswith("  ") else "yellow"
        console.print(safe(line), style=style, markup=False, highlight=False)
