"""Find Lambda functions by their tags, in calls that do not grow with the account.

The Resource Groups Tagging API answers "which functions of this region carry
these tags" directly: ``tag:GetResources`` with ``ResourceTypeFilters``
``lambda:function`` and ``TagFilters`` returns only the matching functions
(and their tags), up to 100 per page, so finding the 30 functions that carry a
fault record among 3,000 takes one call per region instead of one ListTags per
function. TagFilters semantics (botocore's model of GetResources): several
keys must all match (AND), several values of one key are alternatives (OR), a
key without values matches any value.

Accounts where that API is denied (an SCP, a policy without ``tag:*``) fall
back to ``lambda:ListFunctions`` + ``lambda:ListTags`` per function (the only
other way to read a function's tags), run in a bounded thread pool; the
answer says which path ran (``path``) and how many functions it examined, so
an operator knows why a stop took long. A function whose tags cannot be read
in that fallback (deleted between the listing and the read, denied, throttled
past the retries) is kept in ``unread`` with its error when the caller asks for
a ``partial`` answer (the emergency stop restores the rest); otherwise the
first such error fails the search, except a function that no longer exists,
which is simply not there.

A record always has its chunk 0 (``engine.record``; a throttle's,
``awslambda.throttle``), so "carries a fault record" is the key filter
``chaosaws-serverless:fault:0`` (``...:throttle:0``), the same key the printed
IAM policy's condition tests; ``find_carrying_any`` finds records of any kind.
"""

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Optional

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from chaosaws_serverless.aws import client
from chaosaws_serverless.awslambda import engine
from chaosaws_serverless.awslambda.faults import engine_errors
from chaosaws_serverless.errors import AwsActivityFailed, activity_failed, is_access_denied

TAGGING_API = "tagging-api"
LIST_FUNCTIONS = "list-functions"
# GetResources' maximum page size (botocore model: 1..100).
RESOURCES_PER_PAGE = 100
# ListTags shares Lambda's control-plane quota (15 requests/s per region with
# every other control-plane call): a handful of threads keeps the fallback
# near that rate; throttles are retried by botocore's adaptive mode.
LIST_TAGS_WORKERS = 4

TagFilters = Mapping[str, Optional[Sequence[str]]]


@dataclass(frozen=True)
class TaggedFunction:
    """A function found by its tags: unqualified ARN, name and every tag it carries."""

    arn: str
    name: str
    tags: dict[str, str]


@dataclass(frozen=True)
class Unread:
    """A listed function whose tags could not be read, and why."""

    arn: str
    name: str
    error: AwsActivityFailed

    @property
    def vanished(self) -> bool:
        """Return whether the function no longer exists (deleted since it was listed)."""
        return self.error.code == engine.NOT_FOUND


@dataclass
class Found:
    """What one region's search found, and how."""

    region: str
    path: str  # TAGGING_API | LIST_FUNCTIONS
    examined: int  # functions whose tags were read
    functions: list[TaggedFunction] = field(default_factory=list)
    api_calls: int = 0
    fallback_reason: Optional[str] = None
    unread: list[Unread] = field(default_factory=list)


def function_name(arn: str) -> str:
    """Return the name of an unqualified function ARN (``arn:...:function:NAME``)."""
    return arn.split(":function:", 1)[1].split(":", 1)[0]


def matches(tags: Mapping[str, str], filters: TagFilters) -> bool:
    """Return whether ``tags`` pass ``filters`` with GetResources' semantics."""
    for key, values in filters.items():
        if key not in tags:
            return False
        if values and tags[key] not in values:
            return False
    return True


def find_functions(
    region: str,
    filters: TagFilters,
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
    *,
    partial: bool = False,
) -> Found:
    """Return the functions of ``region`` whose tags match ``filters`` (tagging API or listing).

    ``partial``: functions whose tags could not be read are returned in
    ``unread`` instead of failing the search.
    """
    if not filters:
        raise ActivityFailed("no tag filter given: refusing to match every function of a region")
    with engine_errors():
        try:
            return _by_tagging_api(region, filters, configuration, secrets)
        except _Denied as denied:
            found = _by_listing(region, lambda tags: matches(tags, filters), configuration, secrets)
            found.fallback_reason = denied.reason
    failed = [u for u in found.unread if not u.vanished]
    if failed and not partial:
        raise failed[0].error
    return found


def find_carrying_any(
    region: str,
    keys: Sequence[str],
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
    *,
    partial: bool = False,
) -> Found:
    """Return the functions of ``region`` carrying at least one of the tag ``keys``.

    The tagging API ANDs its filters, so it is asked once per key and the answers
    merged; the listing fallback reads every function's tags once, whatever the
    number of keys. ``partial``: as ``find_functions``.
    """
    if not keys:
        raise ActivityFailed("no tag key given: refusing to match every function of a region")
    with engine_errors():
        try:
            merged = Found(region, TAGGING_API, 0)
            seen: set[str] = set()
            for key in keys:
                one = _by_tagging_api(region, {key: None}, configuration, secrets)
                merged.api_calls += one.api_calls
                merged.examined += sum(1 for f in one.functions if f.arn not in seen)
                merged.functions += [f for f in one.functions if f.arn not in seen]
                seen.update(f.arn for f in one.functions)
            return merged
        except _Denied as denied:
            found = _by_listing(
                region, lambda tags: any(k in tags for k in keys), configuration, secrets
            )
            found.fallback_reason = denied.reason
    failed = [u for u in found.unread if not u.vanished]
    if failed and not partial:
        raise failed[0].error
    return found


class _Denied(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _by_tagging_api(
    region: str,
    filters: TagFilters,
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
) -> Found:
    tagging = client("resourcegroupstaggingapi", region, configuration, secrets)
    found = Found(region, TAGGING_API, 0)
    params: dict[str, Any] = {
        "ResourceTypeFilters": ["lambda:function"],
        "TagFilters": [
            {"Key": key, **({"Values": list(values)} if values else {})}
            for key, values in filters.items()
        ],
        "ResourcesPerPage": RESOURCES_PER_PAGE,
    }
    token = ""
    while True:
        try:
            found.api_calls += 1
            page = engine.call(
                tagging,
                "get_resources",
                "tag:GetResources",
                f"tagged Lambda functions in {region}",
                **params,
                **({"PaginationToken": token} if token else {}),
            )
        except engine.CallFailed as error:
            if is_access_denied(error.error):
                raise _Denied(
                    str(activity_failed(error.error, error.action, error.resource))
                ) from error
            raise
        for resource in page.get("ResourceTagMappingList", []):
            arn = str(resource["ResourceARN"])
            tags = {str(t["Key"]): str(t["Value"]) for t in resource.get("Tags", [])}
            found.examined += 1
            # The filter ran on AWS's side; checking again costs nothing and
            # keeps a lenient endpoint from widening the blast radius.
            if matches(tags, filters):
                found.functions.append(TaggedFunction(arn, function_name(arn), tags))
        # A page may hold fewer than the maximum with more to come: only the
        # token says when it is over.
        token = page.get("PaginationToken") or ""
        if not token:
            return found


def _by_listing(
    region: str,
    accept: Callable[[Mapping[str, str]], bool],
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
) -> Found:
    lam = client("lambda", region, configuration, secrets)
    found = Found(region, LIST_FUNCTIONS, 0)
    arns: list[str] = []
    marker = ""
    while True:
        found.api_calls += 1
        page = engine.call(
            lam,
            "list_functions",
            "lambda:ListFunctions",
            f"functions in {region}",
            MaxItems=50,  # AWS's most per page
            **({"Marker": marker} if marker else {}),
        )
        for function in page.get("Functions", []):
            arn = str(function["FunctionArn"])
            arns.append(arn[: -len(":$LATEST")] if arn.endswith(":$LATEST") else arn)
        marker = page.get("NextMarker") or ""
        if not marker:
            break

    def tags_of(arn: str) -> Optional[dict[str, str]]:
        try:
            answer = engine.call(
                lam,
                "list_tags",
                "lambda:ListTags",
                f"function {function_name(arn)!r} in {region}",
                Resource=arn,
            )
        except engine.CallFailed as error:
            failed = activity_failed(error.error, error.action, error.resource)
            found.unread.append(Unread(arn, function_name(arn), failed))
            return None
        return dict(answer.get("Tags") or {})

    with ThreadPoolExecutor(max_workers=LIST_TAGS_WORKERS) as pool:
        every = list(pool.map(tags_of, arns))
    found.api_calls += len(arns)
    found.examined = len(arns)
    found.functions = [
        TaggedFunction(arn, function_name(arn), tags)
        for arn, tags in zip(arns, every, strict=True)
        if tags is not None and accept(tags)
    ]
    found.unread.sort(key=lambda u: u.name)
    return found
