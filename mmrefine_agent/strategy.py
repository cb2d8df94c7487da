"""The v1 import path of the strategy interface (kept so v1 plugins keep working).

New code imports these names from :mod:`mmrefine_agent` itself.
"""

from mmrefine_agent.graph.strategy import NODES, NodeContext, NodeName, Strategy

__all__ = ["NODES", "NodeContext", "NodeName", "Strategy"]
