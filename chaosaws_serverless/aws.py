"""The one place that builds boto3 clients.

It reads the Chaos Toolkit ``configuration`` and ``secrets`` with the keys of
chaostoolkit-aws, so an experiment written for that extension works here:

==============================  ============  ==========================================
key                             block         meaning
==============================  ============  ==========================================
``aws_region``                  configuration default region (an activity's ``region`` wins)
``aws_regions``                 configuration regions that "all regions" operations visit
``aws_profile_name``            configuration named profile from ~/.aws/config
``aws_assume_role_arn``         configuration role to assume for every call
``aws_assume_role_session_name`` configuration session name of that role (default below)
``aws_endpoint_url``            configuration endpoint for every service (the lab, moto);
                                              boto3's own ``AWS_ENDPOINT_URL`` works too
``aws_access_key_id``           secrets       static credentials, in the ``aws`` scope
``aws_secret_access_key``       secrets       (``{"secrets": {"aws": {...}}}``)
``aws_session_token``           secrets
==============================  ============  ==========================================

Secrets come in two shapes, both read here: an activity whose provider names the
``aws`` scope (``"secrets": ["aws"]``, as every shipped experiment does) receives
that scope's keys flat, as chaoslib passes them; a control or a command of the
package holds the whole secrets block and its ``aws`` scope is read. Without
static keys, boto3's own chain is used (environment, profile, SSO, container or
instance role). A client is built only with credentials: none found anywhere is
one :class:`~chaosaws_serverless.errors.CredentialsError` naming every place
looked in, and an AWS answer rejecting them names where they came from, never
their value.

Clients are cached per (service, region, endpoint, credentials) and built
under a lock: botocore clients are thread-safe, sessions are not. An assumed
role is held in botocore ``RefreshableCredentials``, so it is assumed once and
refreshed only shortly before it expires, however many clients share it.
"""

import hashlib
import os
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Optional

import boto3
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import ProfileNotFound
from botocore.session import get_session
from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from chaosaws_serverless.errors import CREDENTIALS_REJECTED, CredentialsError, aws_errors
from chaosaws_serverless.patterns import ROLE_ARN as _ROLE_ARN
from chaosaws_serverless.regions import region_problem

__all__ = [
    "CREDENTIAL_KEYS",
    "DEFAULT_SESSION_NAME",
    "SECRETS_SCOPE",
    "clear_client_cache",
    "client",
    "configured_regions",
    "credentials_of",
    "resolve_region",
]

DEFAULT_SESSION_NAME = "chaosaws-serverless"
# chaostoolkit-aws's scope and keys: {"secrets": {"aws": {"aws_access_key_id": ...}}}.
SECRETS_SCOPE = "aws"
CREDENTIAL_KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
# Where boto3 looks when no static keys are given, in its order (botocore.credentials).
_BOTO3_CHAIN = (
    "the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)",
    "the shared credentials file (~/.aws/credentials or AWS_SHARED_CREDENTIALS_FILE)",
    "the config file (~/.aws/config or AWS_CONFIG_FILE: keys, SSO, role, credential_process)",
    "the container's role (ECS, EKS)",
    "the instance's role (EC2 instance metadata)",
)
# botocore's name for the provider that found the credentials, in words.
_SOURCES = {
    "explicit": f"the secrets scope {SECRETS_SCOPE!r} (aws_access_key_id, aws_secret_access_key)",
    "env": "the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
    "shared-credentials-file": "the shared credentials file",
    "config-file": "the config file",
    "assume-role": "a role assumed through the profile's role_arn",
    "assume-role-with-web-identity": "a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)",
    "sso": "an SSO session of the profile (aws sso login)",
    "custom-process": "the profile's credential_process",
    "container-role": "the container's role",
    "iam-role": "the instance's role (EC2 instance metadata)",
    "sts-assume-role": "the role of 'aws_assume_role_arn'",
}

# Adaptive mode adds client-side rate limiting on top of exponential backoff:
# what keeps concurrent background activities from throttling each other.
_CLIENT_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 8},
    connect_timeout=5,
    read_timeout=30,
    user_agent_extra="chaosaws-serverless",
)

_lock = threading.Lock()
_clients: dict[tuple[str, ...], Any] = {}
_sessions: dict[tuple[str, ...], tuple[boto3.session.Session, str]] = {}


def resolve_region(region: Optional[str], configuration: Optional[Configuration]) -> str:
    """Return the region of a call: the activity's argument, then the configuration.

    The environment (``AWS_REGION``, ``AWS_DEFAULT_REGION``) comes last, as in
    chaostoolkit-aws.
    """
    if region is not None and region != "":  # given: a region name, never a fallback
        problem = region_problem(region)
        if problem:
            raise ActivityFailed(f"region {problem}")
    chosen = (
        region
        or (configuration or {}).get("aws_region")
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
    )
    if not chosen:
        raise ActivityFailed(
            "no AWS region given: pass the activity's 'region' argument or set "
            "'aws_region' in the experiment's configuration"
        )
    problem = region_problem(chosen)
    if problem:
        raise ActivityFailed(f"region {problem}")
    return str(chosen)


def configured_regions(configuration: Optional[Configuration]) -> list[str]:
    """Return the regions an "every region" operation visits.

    ``aws_regions`` (a list) in the configuration, else the single
    ``aws_region``, else the keys of ``chaos_layer_arns``.
    """
    configuration = configuration or {}
    regions = configuration.get("aws_regions")
    if isinstance(regions, str):
        regions = [r.strip() for r in regions.split(",") if r.strip()]
    if not regions and isinstance(configuration.get("chaos_layer_arns"), Mapping):
        regions = sorted(configuration["chaos_layer_arns"])
    if not regions:
        regions = [resolve_region(None, configuration)]
    return [resolve_region(r, None) for r in regions]


def client(
    service: str,
    region: Optional[str] = None,
    configuration: Optional[Configuration] = None,
    secrets: Optional[Secrets] = None,
) -> Any:
    """Return a cached, thread-safe boto3 client for ``service`` in the resolved region."""
    configuration = configuration or {}
    secrets = credentials_of(secrets)
    region_name = resolve_region(region, configuration)
    endpoint_url = configuration.get("aws_endpoint_url") or None
    session_key = _session_key(configuration, secrets)
    key = (service, region_name, str(endpoint_url), *session_key)
    with _lock:
        cached = _clients.get(key)
        if cached is None:
            session, source = _session(session_key, configuration, secrets)
            cached = session.client(
                service, region_name=region_name, endpoint_url=endpoint_url, config=_CLIENT_CONFIG
            )
            cached.meta.events.register("after-call", _name_the_credentials(source))
            _clients[key] = cached
        return cached


def credentials_of(secrets: Optional[Secrets]) -> dict[str, str]:
    """Return the static credentials in ``secrets``, whichever of its two shapes it has.

    The keys flat (what an activity naming the ``aws`` scope receives), else the
    ``aws`` scope of a whole secrets block (what controls and commands hold).
    Only the three credential keys are kept; empty values count as absent.
    """
    secrets = secrets or {}
    flat = {k: secrets[k] for k in CREDENTIAL_KEYS if secrets.get(k)}
    if not flat and isinstance(secrets.get(SECRETS_SCOPE), Mapping):
        scope = secrets[SECRETS_SCOPE]
        flat = {k: scope[k] for k in CREDENTIAL_KEYS if scope.get(k)}
    return {k: str(v) for k, v in flat.items()}


def clear_client_cache() -> None:
    """Forget every cached client and session (tests, or after changing credentials)."""
    with _lock:
        _clients.clear()
        _sessions.clear()


def _session_key(configuration: Configuration, secrets: Secrets) -> tuple[str, ...]:
    # The secret key never sits in the cache key in clear: only a digest of it.
    secret = str(secrets.get("aws_secret_access_key", ""))
    return (
        str(configuration.get("aws_profile_name", "")),
        str(configuration.get("aws_assume_role_arn", "")),
        str(configuration.get("aws_assume_role_session_name", "")),
        str(secrets.get("aws_access_key_id", "")),
        hashlib.sha256(secret.encode()).hexdigest()[:16] if secret else "",
        hashlib.sha256(str(secrets.get("aws_session_token", "")).encode()).hexdigest()[:16],
        str(configuration.get("aws_endpoint_url", "")),
    )


def _session(
    key: tuple[str, ...], configuration: Configuration, secrets: Secrets
) -> tuple[boto3.session.Session, str]:
    """Build (under the caller's lock) or reuse the session for these credentials.

    Returns it with the words for where its credentials come from.
    """
    cached = _sessions.get(key)
    if cached is not None:
        return cached
    profile = configuration.get("aws_profile_name") or None
    pair = ("aws_access_key_id", "aws_secret_access_key")
    given = [k for k in pair if secrets.get(k)]
    if len(given) == 1:
        missing = pair[1] if given[0] == pair[0] else pair[0]
        raise CredentialsError(
            f"the secrets scope {SECRETS_SCOPE!r} has {given[0]!r} but no {missing!r}: "
            f"static credentials need both; add {missing!r} beside it in the --var-file "
            f'({{"secrets": {{"{SECRETS_SCOPE}": {{...}}}}}})'
        )
    try:
        session = boto3.session.Session(
            profile_name=profile,
            aws_access_key_id=secrets.get("aws_access_key_id") or None,
            aws_secret_access_key=secrets.get("aws_secret_access_key") or None,
            aws_session_token=secrets.get("aws_session_token") or None,
        )
    except ProfileNotFound as error:
        raise ActivityFailed(
            f"AWS profile {profile!r} (configuration 'aws_profile_name') was not found in "
            "~/.aws/config or ~/.aws/credentials; fix the name or create the profile"
        ) from error
    credentials = session.get_credentials()
    if credentials is None:
        raise CredentialsError(_no_credentials(profile))
    role_arn = configuration.get("aws_assume_role_arn")
    if role_arn:
        base_source = _source(credentials)
        session = _assumed_role_session(session, str(role_arn), configuration, base_source)
        source = f"{_SOURCES['sts-assume-role']} ({role_arn}, assumed with {base_source})"
    else:
        source = _source(credentials)
    if profile and credentials.method not in ("explicit", "env"):
        source += f", profile {profile!r}"
    _sessions[key] = (session, source)
    return session, source


def _source(credentials: Any) -> str:
    method = str(getattr(credentials, "method", "") or "unknown")
    return _SOURCES.get(method, f"botocore's {method!r} provider")


def _no_credentials(profile: Optional[str]) -> str:
    looked = [f"the secrets scope {SECRETS_SCOPE!r} of the --var-file or experiment (none given)"]
    if profile:
        looked.append(f"profile {profile!r} (configuration 'aws_profile_name')")
    looked.extend(_BOTO3_CHAIN)
    return (
        "no AWS credentials found; looked in " + ", then ".join(looked) + ". Fix: put "
        f"aws_access_key_id and aws_secret_access_key under "
        f'{{"secrets": {{"{SECRETS_SCOPE}": {{...}}}}}} in the --var-file, set '
        "'aws_profile_name' in its configuration, or export the AWS_* variables"
    )


def _name_the_credentials(source: str) -> Any:
    """Return a botocore ``after-call`` hook that tells a rejection where the keys came from.

    botocore raises ``ClientError`` with the parsed answer as ``response``; the
    hook adds ``CredentialSource`` (words, never a key) to the answers that
    reject the caller's credentials, which ``errors.activity_failed`` reads.
    """

    def hook(http_response: Any, parsed: Any, **_: Any) -> None:
        if getattr(http_response, "status_code", 200) >= 400 and isinstance(parsed, dict):
            code = str((parsed.get("Error") or {}).get("Code", ""))
            if code in CREDENTIALS_REJECTED:
                parsed["CredentialSource"] = source

    return hook


def _assumed_role_session(
    base: boto3.session.Session, role_arn: str, configuration: Configuration, base_source: str
) -> boto3.session.Session:
    if not _ROLE_ARN.match(role_arn):
        raise ActivityFailed(
            f"'aws_assume_role_arn' {role_arn!r} is not an IAM role ARN; expected "
            "arn:aws:iam::<12-digit account>:role/<name>"
        )
    session_name = str(configuration.get("aws_assume_role_session_name") or DEFAULT_SESSION_NAME)
    region = resolve_region(None, configuration) if configuration.get("aws_region") else None
    sts = base.client(
        "sts",
        region_name=region or "us-east-1",
        endpoint_url=configuration.get("aws_endpoint_url") or None,
        config=_CLIENT_CONFIG,
    )
    sts.meta.events.register("after-call", _name_the_credentials(base_source))

    def fetch() -> dict[str, str]:
        with aws_errors("sts:AssumeRole", f"role {role_arn!r}"):
            creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
        expiry: datetime = creds["Expiration"]
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": expiry.isoformat(),
        }

    credentials = RefreshableCredentials.create_from_metadata(
        metadata=fetch(), refresh_using=fetch, method="sts-assume-role"
    )
    botocore_session = get_session()
    botocore_session._credentials = credentials  # no public setter; botocore's own pattern
    return boto3.session.Session(botocore_session=botocore_session)
