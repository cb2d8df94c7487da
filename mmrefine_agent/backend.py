"""The v1 import path of the model-backend interface (kept so v1 plugins keep working).

New code imports these names from :mod:`mmrefine_agent` itself.
"""

from mmrefine_agent.engine.backend import (
    ModelBackend,
    PermanentModelError,
    TransientModelError,
    parse_retry_after,
)

__all__ = ["ModelBackend", "PermanentModelError", "TransientModelError", "parse_retry_after"]
