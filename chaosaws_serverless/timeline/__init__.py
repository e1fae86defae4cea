"""The timeline of a chaos run: one PNG that tells the run's story, drawn from CloudWatch.

``chaosaws-serverless timeline JOURNAL.json [-o timeline.png]``, the control
``chaosaws_serverless.controls.timeline`` (draws it at the end of ``chaos
run``, next to the journal, and puts it in the journal where ``chaos report``
shows it) and the lab's demo all call
:func:`chaosaws_serverless.timeline.core.timeline_of_journal`.

- ``journal``: which values the run used and what happened when
  (:mod:`chaosaws_serverless.timeline.journal`);
- ``metrics``: the series read from CloudWatch through ``aws.py`` with the
  run's configuration and secrets (any account, the lab, any endpoint);
- ``draw``: the PNG (matplotlib);
- ``core``: the three together.

Nothing is imported here, so the ``chaosaws-serverless`` command stays fast.
"""
