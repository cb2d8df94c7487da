"""Built-in observers: ``wandb`` (Weights & Biases) and ``otel`` (OpenTelemetry traces).

Each reads only the typed event stream (the observer hooks), is switched on by its section
of the config (``observers.wandb``, ``observers.otel``) and imports its library (extra
``wandb``, extra ``otel``) only then, so a run without observers never loads them.
"""
