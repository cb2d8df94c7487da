"""The v2 import path of the built-in strategies, kept for plugins written against it.

The built-in strategies live in ``mmrefine_strategies`` (the project's ``strategies/`` folder);
only :mod:`mmrefine_agent.strategies.single_pass`, the path the v2 README's plugin example
imports, is kept here.
"""
