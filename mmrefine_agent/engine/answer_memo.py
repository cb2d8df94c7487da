"""Answer equivalences remembered by content, so re-scoring a run does not re-run math-verify.

Whether a final answer is mathematically equivalent to the gold one is a pure function of the
two texts, the code of :mod:`mmrefine_agent.judging.answers` and the versions of the libraries
that decide it (math-verify, latex2sympy2_extended, sympy and the ANTLR runtime, and Python's);
all of them are in the key. Only settled decisions are stored (never one that failed or may have
hit math-verify's timeout). They live in the call cache's database (``run.cache``), so a cached
rerun or a ``report``-time re-score never imports math-verify.
"""

from __future__ import annotations

import hashlib
import json
import sys
from functools import cache
from pathlib import Path

from mmrefine_agent.engine.cache import CallCache
from mmrefine_agent.judging import answers
from mmrefine_agent.versions import distribution_version

DECIDING_LIBRARIES = ("math-verify", "latex2sympy2_extended", "sympy", "antlr4-python3-runtime")
"""The distributions whose code decides an equivalence (their versions are in the key)."""


@cache
def equivalence_tag() -> str:
    """What, besides the two answers, decides equivalence: our code and the libraries' versions."""
    source = Path(answers.__file__).read_bytes()
    versions = [f"{name} {distribution_version(name)}" for name in DECIDING_LIBRARIES]
    python = ".".join(str(part) for part in sys.version_info[:3])
    return "/".join([hashlib.sha256(source).hexdigest()[:16], *versions, f"python {python}"])


def equivalence_key(prediction: str, gold: str) -> str:
    """The content address of one equivalence question in the call cache."""
    blob = json.dumps([equivalence_tag(), prediction, gold], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


class RememberedEquivalence:
    """``answers.math_equivalent`` that looks in (and adds to) the call cache first."""

    def __init__(self, cache: CallCache | None) -> None:
        self.cache = cache
        self.known: dict[str, bool] = {}
        self.new: dict[str, bool] = {}

    def key(self, prediction: str, gold: str) -> str:
        """The content address of one equivalence question (:func:`equivalence_key`)."""
        return equivalence_key(prediction, gold)

    def __call__(self, prediction: str, gold: str) -> bool:
        """Whether ``prediction`` and ``gold`` are equivalent (remembered when settled)."""
        if self.cache is None:
            return answers.math_equivalent(prediction, gold)
        key = self.key(prediction, gold)
        known = self.known.get(key)
        if known is None:
            known = self.cache.equivalence(key)
        if known is None:
            known, settled = answers.check_equivalence(prediction, gold)
            if not settled:
                return known
            self.new[key] = known
        self.known[key] = known
        return known

    def save(self) -> None:
        """Store what was decided in this session."""
        if self.cache is not None:
            self.cache.remember_equivalences(self.new)
            self.new = {}
