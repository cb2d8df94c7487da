"""Final-answer equivalence for the offline judge: option letters, then math-verify."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence

LETTERS = "ABCDE"
_LETTER_ONLY = re.compile(
    r"^\s*[\(\[\{]?\s*(?:option\s+|choice\s+)?([A-E])\s*[\)\]\}]?\s*[.:)]?\s*(?:$|\s)",
    re.IGNORECASE,
)
_ANSWER_IS = re.compile(r"\b(?:answer|option|choice)\s*(?:is|:)?\s*\(?([A-E])\)?\b")
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


def math_equivalent(prediction: str, gold: str) -> bool:
    """Whether two answers are mathematically equivalent according to math-verify."""
    from math_verify import parse, verify

    in_main = threading.current_thread() is threading.main_thread()
    timeout = 5 if in_main else None  # math-verify's timeout uses signals (main thread only)
    gold_text = gold if "$" in gold or "\\boxed" in gold else f"${gold}$"
    pred_text = prediction if "$" in prediction or "\\boxed" in prediction else f"${prediction}$"
    with _verify_lock:
        try:
            parsed_gold = parse(gold_text, parsing_timeout=timeout)  # type: ignore[arg-type]
            parsed_pred = parse(pred_text, parsing_timeout=timeout)  # type: ignore[arg-type]
            if not parsed_gold or not parsed_pred:
                return False
            return bool(verify(parsed_gold, parsed_pred, timeout_seconds=timeout))
        except Exception:
            return False


def answers_match(prediction: str | None, gold: str, options: Sequence[str] = ()) -> bool:
    """Whether a predicted final answer matches the ground truth."""
    if not prediction or not prediction.strip():
        return False
    gold_clean = gold.strip().rstrip(".").strip()
    if len(gold_clean) == 1 and gold_clean.upper() in LETTERS:
        letter = option_letter(prediction, options)
        if letter is not None:
            return letter == gold_clean.upper()
        if options:
            gold_text = options[LETTERS.index(gold_clean.upper())]
            return math_equivalent(prediction, gold_text) or _norm(_unbox(prediction)) == _norm(
                gold_text
            )
        return False
    if _norm(_unbox(prediction)) == _norm(gold_clean):
        return True
    return math_equivalent(prediction, gold_clean)
