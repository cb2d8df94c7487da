"""Built-in judges: ``mmrefine_official`` (the official protocol) and ``offline`` (a proxy)."""
