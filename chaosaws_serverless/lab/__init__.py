"""The local lab: the reference two-region architecture on the moto server, end to end.

``stack.json`` describes the stack; :mod:`.deploy` puts it into the emulator;
:mod:`.dataplane` runs what moto cannot (regional gateways running the
functions' handlers, Route 53 health checkers, the latency-routing resolver,
customers); :mod:`.demo` runs the reference experiment on the misconfigured and
on the fixed stack (:mod:`.analysis` judges a run from its journal, :mod:`.prose`
explains it). Keep this module free of imports: the package's discovery
imports every subpackage's ``__init__``.
"""
