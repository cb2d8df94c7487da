"""The run engine: services, the item loop, resume, model clients, cache, usage, sweeps."""
