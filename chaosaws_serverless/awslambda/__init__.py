"""Lambda fault injection through a chaos extension layer.

Two sides, one boundary between them:

- ``engine/``: the fault engine, boto3 only. What injecting and removing a
  fault means, in which order, with which refusals; the SSM Automation
  document's script is built from exactly these modules.
- the chaoslib side, which adapts the engine to Chaos Toolkit: ``actions`` and
  ``probes`` (the activities), ``faults`` (one function: client, lock,
  injector, logging, and ``engine_errors``, the one place the engine's errors
  become ``ActivityFailed``), ``tag_targets`` (functions chosen by tags, all or
  nothing), ``emergency_stop`` (every recorded fault, every region),
  ``tag_search`` (finding functions by tags), ``cli`` (``rollback``).
"""
