"""Built-in model backends: ``litellm``, ``openai_compat``, ``llamacpp``, ``scripted``."""
