"""Reading runs: scores, per-round trajectories, localisation, comparisons, plots, reports."""
