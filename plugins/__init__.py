"""Built-in plugins other than strategies, grouped by kind (import name ``mmrefine_plugins``).

Each module registers itself through the ``mmrefine_agent`` entry-point group, exactly like a
third-party plugin, and imports only names that :mod:`mmrefine_agent` exports.
"""
