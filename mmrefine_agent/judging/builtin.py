"""Registers the built-in judges (``mmrefine_official``, ``offline``) as an ordinary plugin."""

from __future__ import annotations

from mmrefine_agent.hookspecs import RegisterJudge, hookimpl
from mmrefine_agent.judging.official import OfficialJudge
from mmrefine_agent.judging.offline import OfflineJudge


@hookimpl
def mmrefine_register_judges(register: RegisterJudge) -> None:
    """Register ``mmrefine_official`` and ``offline``."""
    register("mmrefine_official", OfficialJudge)
    register("offline", OfflineJudge)
