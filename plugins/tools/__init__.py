"""Built-in tools.

``calculator`` (sympy, no code run), ``python`` (a sandboxed process), ``zoom`` (a region of
the item's image, enlarged).
"""
