"""An experiment's activities, walked once, the way chaoslib walks them.

:func:`activities` is chaoslib's ``activity.get_all_activities_in_experiment``
(the steady-state hypothesis's probes, then the method, then the rollbacks: the
same code in chaostoolkit-lib 1.44 and 1.45), handed the three sections with a
missing or ``null`` one read as empty (chaoslib's ``.get(key, [])`` passes a
JSON ``null`` through and fails on it, and this package reads experiments
before chaoslib validates them: ``iam-policy``, the doctor, the timeline), and
keeping only declared activities (a bare string in the method is a reference
to an activity declared elsewhere, met again where it is declared).
"""

from collections.abc import Mapping
from typing import Any

__all__ = ["PACKAGE", "activities", "package_provider"]

PACKAGE = "chaosaws_serverless"


def activities(experiment: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Return the experiment's declared activities: hypothesis probes, method, rollbacks."""
    from chaoslib.activity import get_all_activities_in_experiment

    hypothesis = experiment.get("steady-state-hypothesis")
    probes = hypothesis.get("probes") if isinstance(hypothesis, Mapping) else None
    sections = {
        "steady-state-hypothesis": {"probes": list(probes or [])},
        "method": list(experiment.get("method") or []),
        "rollbacks": list(experiment.get("rollbacks") or []),
    }
    return [a for a in get_all_activities_in_experiment(sections) if isinstance(a, Mapping)]


def package_provider(activity: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return the activity's provider when it is a Python function of this package, else {}."""
    provider = activity.get("provider")
    if (
        isinstance(provider, Mapping)
        and provider.get("type") == "python"
        and str(provider.get("module", "")).startswith(f"{PACKAGE}.")
    ):
        return provider
    return {}
