"""The ``mmrefine`` command line."""
