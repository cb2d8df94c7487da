"""Built-in refinement strategies (installed as ``mmrefine_agent.strategies``)."""
