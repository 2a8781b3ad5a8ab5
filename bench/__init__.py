"""Load benchmarks: ``make bench``. Figures are printed, never asserted by the test suite."""
