"""The v2 import path of :mod:`mmrefine_strategies.single_pass` (kept for existing plugins)."""

from mmrefine_strategies.single_pass import SinglePass, official_refinement_prompt

__all__ = ["SinglePass", "official_refinement_prompt"]
