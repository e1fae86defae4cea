"""The AWS regions botocore knows: a region name outside them is refused, naming them.

botocore's endpoint data (``endpoints.json``: each partition's ``regions``) lists
every region its release can call; a name of the right shape that is not there
(``us-mars-1``) would otherwise reach an endpoint that does not exist (on AWS, a
connection error; behind the emulator, its HTML error page).
"""

import functools
from typing import Optional

from chaosaws_serverless.patterns import REGION

__all__ = ["known_regions", "region_problem"]


@functools.cache
def known_regions() -> tuple[str, ...]:
    """Return every region of every partition in botocore's endpoint data, sorted."""
    import botocore.session

    data = botocore.session.get_session().get_data("endpoints")
    return tuple(sorted({r for p in data.get("partitions", []) for r in p.get("regions", {})}))


def region_problem(value: object) -> Optional[str]:
    """Return why ``value`` is not a region name botocore knows (None when it is one)."""
    if isinstance(value, str) and value in known_regions():
        return None
    if not isinstance(value, str) or not REGION.match(value):
        return f"{value!r} is not an AWS region name; use a name such as 'us-east-1'"
    if value not in known_regions():
        import botocore

        return (
            f"{value!r} is not a region botocore {botocore.__version__} knows; use one of "
            f"{', '.join(known_regions())} (or upgrade botocore for a newer region)"
        )
    return None
