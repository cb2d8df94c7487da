"""Built-in refinement strategies (import name ``mmrefine_strategies``)."""
