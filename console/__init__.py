"""The ``vicoop`` command line, the demo and the benchmarks: the floor above the roles.

Nothing in ``vicoop`` (the kernel) or in a role package imports this package.
"""
