"""Judges: turn a refinement response into one of the six MMRefine scenarios."""
