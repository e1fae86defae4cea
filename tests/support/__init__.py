"""Helpers the tests share, imported as ``tests.support.<module>`` (pytest's ``pythonpath``).

- ``lambdas``: ``code_zip`` (a function's or a layer's package) and ``World``
  (functions and layers arranged in moto, their state read back); the
  ``world`` fixture is in ``tests/conftest.py``
- ``route53``: the reference scenario's hosted zone, records and health checks
- ``metrics``: the load generator's counts written to CloudWatch by hand
- ``lab``: the lab's values and credentials, waiting for its customers' first metrics
- ``faultproxy``: a flaky AWS (an HTTP proxy answering a share of calls with AWS's errors)
- ``flaky``: inject → rollback rounds on a fleet of functions, through the fault proxy
- ``snapshots``: every function's picture before and after, and their differences
- ``interruption``: ``chaos run`` processes interrupted at random points
- ``loadgen_server``: a local API the load generator's tests call

Nothing here is a test; a module here imports no test module.
"""
