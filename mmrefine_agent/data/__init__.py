"""Benchmark data: dataset loaders, the data directory, the official prompts."""
