"""What the scores mean, in one paragraph (shown under every scores table and in reports)."""

LEGEND = (
    "Incorrect initial solutions (cumulative, / n_incorrect): RF = error not detected; "
    "ED = error detected (ED+EC+RS); EC = detected and corrected (EC+RS); RS = detected, "
    "corrected, final solution right. Correct initial solutions (/ n_correct): VS = verified "
    "as correct; FD = a false error found. RefScore = RS - FD; mRecall = (ED + VS) / 2. "
    "Counts are exclusive. PROXY: the offline judge (verdict parsing + answer check), not the "
    "official GPT-4o judge. 'images not seen': image items a text-only model answered blind. "
    "A review whose verdict cannot be parsed is never read as a verdict (correct solution: FD, "
    "incorrect: RF), for every strategy. A tiny local model scoring RefScore near -100 is "
    "expected: it flags errors everywhere and fixes none."
)
