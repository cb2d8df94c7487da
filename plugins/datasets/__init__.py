"""Built-in datasets: ``mmrefine`` and the step benchmarks.

The step benchmarks are ``prmbench``, ``bigbench_mistake`` and ``mrben``.
"""
