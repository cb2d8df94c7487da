"""Built-in model-backend plugins (installed as ``mmrefine_agent.plugins``)."""
