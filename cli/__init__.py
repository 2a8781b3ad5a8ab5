"""The ``yibao`` command line: bring the system up, migrate, seed, manage API clients."""
