"""Benchmarks for nexus-kernel: ``python -m bench`` (or ``make bench``) runs them all.

Every measurement interleaves its variants round-robin (noisy 2-core machines: a burst of background
work then hits every variant alike, not one block of samples) and warms each variant up first.
Results go to ``bench/results/latest.json`` and ``bench/results/latency.png``; a Markdown table is
printed for the README. Nothing here imports Jupyter at package import time, and ``peer_worker.py``
and ``plot.py`` run in the separate bench virtualenv, so they import nothing from this package.
"""
