"""Final-answer equivalence for the offline judge: option letters, then math-verify."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence

LETTERS = "ABCDE"
# possessive runs (``*+``) and a tail that cannot re-split whitespace: linear in the answer
_LETTER_ONLY = re.compile(
    r"^\s*+[\(\[\{]?\s*+(?:option\s++|choice\s++)?([A-E])[\)\]\}]?[.:)]?(?:$|\s)",
    re.IGNORECASE,
)
_ANSWER_IS = re.compile(r"\b(?:answer|option|choice)\s*+(?:is|:)?\s*+\(?([A-E])\)?\b")
_LATEX_NOISE = re.compile(r"\\text\{([^}]*)\}|\\mathrm\{([^}]*)\}|[\$\\\s{}~]")


def _norm(text: str) -> str:
    return _LATEX_NOISE.sub(lambda m: (m.group(1) or m.group(2) or "").strip(), text).lower()


def _unbox(text: str) -> str:
    start = text.rfind("\\boxed{")
    if start < 0:
        return text
    depth = 0
    for j in range(start + 6, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[start + 7 : j]
    return text


def option_letter(prediction: str, options: Sequence[str]) -> str | None:
    """The option letter a prediction chooses (by letter, or by the option's text)."""
    text = _unbox(prediction).strip()
    match = _LETTER_ONLY.match(text) or _ANSWER_IS.search(text)
    if match:
        return match.group(1).upper()
    normalized = _norm(text)
    for index, option in enumerate(options[: len(LETTERS)]):
        if normalized and normalized == _norm(option):
            return LETTERS[index]
    return None


_verify_lock = threading.Lock()
TIMEOUT_S = 5
"""math-verify's per-parse and per-comparison timeout (main thread only: it uses signals)."""
_settled: dict[tuple[str, str], bool] = {}
"""Equivalences decided in this process, by content (math-verify is deterministic)."""
_parsed: dict[str, list[object]] = {}
"""math-verify parses made in this process, by text (a gold answer is compared with each of
its problem's four solutions' answers; a parse is kept only when it finished in time)."""


class _NoTimeoutNotice(logging.Filter):
    """Drops math-verify's "Timeout is disabled" notice, and nothing else.

    Off the main thread math-verify cannot use signals, so we call it without a timeout and
    judge a slow answer "not settled" ourselves (see :func:`check_equivalence`); its notice
    about that would otherwise be printed into every notebook and terminal.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record but the timeout notice."""
        return not str(record.msg).startswith("Timeout is disabled")


_NOTICE_FILTER = _NoTimeoutNotice()
MATH_VERIFY_LOGGERS = ("math_verify.parser", "math_verify.grader")
"""The loggers that print the notice (math-verify's ``parse`` and ``verify``)."""


def quiet_math_verify() -> None:
    """Silence math-verify's timeout notice where we call it (idempotent; other records pass)."""
    for name in MATH_VERIFY_LOGGERS:
        logger = logging.getLogger(name)
        if _NOTICE_FILTER not in logger.filters:
            logger.addFilter(_NOTICE_FILTER)


def _parse(text: str, timeout: int | None) -> list[object]:
    """math-verify's parse of ``text``, remembered when it did not come near the timeout."""
    from math_verify import parse

    known = _parsed.get(text)
    if known is not None:
        return known
    started = time.perf_counter()
    parsed: list[object] = parse(text, parsing_timeout=timeout)  # type: ignore[arg-type]
    if timeout is None or time.perf_counter() - started < timeout - 1:
        _parsed[text] = parsed
    return parsed


def check_equivalence(prediction: str, gold: str) -> tuple[bool, bool]:
    """(equivalent, settled) by math-verify; not settled when it failed or may have timed out.

    A settled answer is a pure function of the two texts (and the math-verify version), so it
    may be remembered; an unsettled one is False this time and is asked again next time.
    """
    known = _settled.get((prediction, gold))
    if known is not None:
        return known, True
    from math_verify import verify

    quiet_math_verify()
    in_main = threading.current_thread() is threading.main_thread()
    timeout = TIMEOUT_S if in_main else None
    gold_text = gold if "$" in gold or "\\boxed" in gold else f"${gold}$"
    pred_text = prediction if "$" in prediction or "\\boxed" in prediction else f"${prediction}$"
    with _verify_lock:
        started = time.perf_counter()
        try:
            parsed_gold = _parse(gold_text, timeout)
            parsed_pred = _parse(pred_text, timeout)
            if not parsed_gold or not parsed_pred:
                result = False
            else:
                result = bool(verify(parsed_gold, parsed_pred, timeout_seconds=timeout))
        except Exception:
            return False, False
        # math-verify turns a timeout into "no match" silently: a slow answer is not settled
        settled = timeout is None or time.perf_counter() - started < timeout - 1
    if settled:
        _settled[(prediction, gold)] = result
    return result, settled


def math_equivalent(prediction: str, gold: str) -> bool:
    """Whether two answers are mathematically equivalent according to math-verify."""
    return check_equivalence(prediction, gold)[0]


Equivalence = Callable[[str, str], bool]


def answers_match(
    prediction: str | None,
    gold: str,
    options: Sequence[str] = (),
    *,
    equivalent: Equivalence = math_equivalent,
) -> bool:
    """Whether a predicted final answer matches the ground truth.

    ``equivalent`` decides mathematical equivalence (default: math-verify in this process; a
    run passes one that remembers settled answers in the call cache).
    """
    if not prediction or not prediction.strip():
        return False
    gold_clean = gold.strip().rstrip(".").strip()
    if len(gold_clean) == 1 and gold_clean.upper() in LETTERS:
        letter = option_letter(prediction, options)
        if letter is not None:
            return letter == gold_clean.upper()
        if options:
            gold_text = options[LETTERS.index(gold_clean.upper())]
            return equivalent(prediction, gold_text) or _norm(_unbox(prediction)) == _norm(
                gold_text
            )
        return False
    if _norm(_unbox(prediction)) == _norm(gold_clean):
        return True
    return equivalent(prediction, gold_clean)
