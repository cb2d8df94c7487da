"""What the scores mean (shown under every scores table and in reports).

``LEGEND_LINES`` are the sentences, one concept each; ``LEGEND`` is them as one paragraph.
"""

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
