"""The v2 import path of :class:`mmrefine_agent.SinglePass` (kept for existing plugins)."""

from mmrefine_agent.graph.paper_protocol import SinglePass, official_refinement_prompt

__all__ = ["SinglePass", "official_refinement_prompt"]
