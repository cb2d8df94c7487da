"""What the scores mean (shown under every scores table and in reports).

``LEGEND_LINES`` are the sentences, one concept each; ``LEGEND`` is them as one paragraph.
:func:`legend_lines` keeps only those that explain what a table shows: the proxy judge's
line for a run the offline judge scored, the unseen images' line when some were not seen,
the tiny model's line when that model made the run.
"""

from __future__ import annotations

from typing import Any

LEGEND_LINES: tuple[str, ...] = (
    "value (%): a rate over the judged items of one label; count: items in exactly that "
    "scenario (exclusive counts; judge errors are left out of every denominator).",
    "Incorrect initial solutions, denominator n_incorrect; the rates are cumulative: "
    "RF = error not detected (RF); ED = error detected (ED+EC+RS); EC = detected and the "
    "wrong step corrected (EC+RS); RS = detected, corrected and the final answer right (RS). "
    "RF + ED = 100.",
    "Correct initial solutions, denominator n_correct: VS = verified as correct; FD = an "
    "error flagged where there is none. VS + FD = 100.",
    "RefScore = RS - FD (-100 to 100); mRecall = (ED + VS) / 2; RS/ED and EC/ED: of the "
    "detected errors, the share fixed and the share corrected.",
    "PROXY: the offline judge (verdict parsing + answer check), not the official GPT-4o "
    "judge; its scores approximate the paper's protocol.",
    "images not seen: image items a text-only model answered without the image (still scored).",
    "A review whose verdict cannot be parsed is never read as a verdict (correct solution: FD, "
    "incorrect: RF), for every strategy; `mmrefine trace RUN KEY` shows the rule per item.",
    "A tiny local model (the quickstart's 135M) scoring RefScore near -100 is expected: it "
    "flags errors everywhere and fixes none.",
)
LEGEND = " ".join(LEGEND_LINES)

PROXY_LINE, IMAGES_LINE, TINY_MODEL_LINE = LEGEND_LINES[4], LEGEND_LINES[5], LEGEND_LINES[7]
TINY_MODELS = ("smollm2-135m",)


def legend_lines(scores: Any, model: str | None = None) -> tuple[str, ...]:
    """The legend sentences that explain a table of ``scores`` made by ``model``.

    ``scores`` is a :class:`~mmrefine_agent.records.documents.Scores`; ``model`` the
    refinement model's name (None: unknown, and the tiny model's line is left out).
    """
    left_out = set()
    if not getattr(scores, "is_proxy", False):
        left_out.add(PROXY_LINE)
    if not getattr(scores, "not_seen_images", 0):
        left_out.add(IMAGES_LINE)
    if model is None or not any(tiny in model.lower() for tiny in TINY_MODELS):
        left_out.add(TINY_MODEL_LINE)
    return tuple(line for line in LEGEND_LINES if line not in left_out)
