"""Evaluations and benchmarks of the diagnostics library on public and simulated data.

Nothing in the library imports from here. Each module is a command:

- ``python -m diagnostics.benchmarks.evaluate cwru --data ../shared/data/cwru``: detection on real bearings
- ``python -m diagnostics.benchmarks.pipeline_speed``: the diagnosis pipeline against a bare FFT
- ``python -m diagnostics.benchmarks.rul cmapss --data ../shared/data/cmapss``: RUL on C-MAPSS
  (``cmapss-cv`` and ``cmapss-shift`` for the label-free checks, :mod:`.rul_cv`, :mod:`.rul_shift`)
"""
