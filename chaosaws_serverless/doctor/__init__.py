"""The doctor: prove on the user's own account, before the game day, that the faults will fire.

``chaosaws-serverless doctor [EXPERIMENT] [--var-file F] [--region R ...] [--live] [--json]``
and the probe ``chaosaws_serverless.doctor.probes.doctor_passes``.

- ``checks``: the read-only checks (credentials, chaos layer per region, each
  target function against the refusals its injection would make, the
  experiment's permissions through IAM's policy simulator, Route 53
  pre-flight findings, the metrics the probes read);
- ``live``: a throwaway function per region, faulted and restored through the
  package's own actions, invoked and measured, always deleted;
- ``runner``: both together, the table and the JSON.

Nothing is imported here: ``chaosaws-serverless`` imports ``doctor.cli`` at
start-up, which must stay fast (boto3 and chaoslib load inside the command).
"""
