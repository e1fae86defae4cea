"""The values an experiment needs, as a var file to fill in (``values-template``).

For any experiment (a ready one, a composed one, a short form referencing the
catalog, one of a user's own), every configuration key it declares or uses
(``${key}``) and every secrets scope it declares, with a description and an
example, written as a YAML var file ``chaos run --var-file`` reads
(``{"configuration": {...}, "secrets": {...}}``, chaoslib's ``merge_vars``):

- a required key (``{"required": KIND, "description": ...}``) gets an example
  of its kind, marked ``REQUIRED``: the pre-flight control refuses to run
  until it names something that exists;
- a key with a value gets that value (the experiment's default), so the file
  runs as it is once the required ones are filled in; a key read from the
  environment (``{"type": "env", ...}``) is written commented out, with the
  variable named, since a value in the file would win over the variable;
- descriptions come from the declaration, else from the catalog pieces'
  ``descriptions`` (the built-in catalog and the extra folders), else from
  chaostoolkit-aws's keys (``chaosaws_serverless.aws``);
- the ``aws`` secrets scope lists chaostoolkit-aws's credential keys commented
  out: without them boto3's chain (environment, profile, role) is used.
"""

import json
import re
import textwrap
from collections.abc import Mapping
from typing import Any, Optional

import yaml

from chaosaws_serverless.aws import CREDENTIAL_KEYS, SECRETS_SCOPE
from chaosaws_serverless.catalog.pieces import Catalog

__all__ = ["AWS_KEYS", "KIND_EXAMPLES", "described_keys", "values_template"]

# chaostoolkit-aws's configuration keys (chaosaws_serverless.aws), offered when not declared.
AWS_KEYS = {
    "aws_region": "default region of the activities (an activity's region argument wins)",
    "aws_regions": "regions that 'every region' operations visit (the emergency stop)",
    "aws_profile_name": "named profile from ~/.aws/config (optional)",
    "aws_assume_role_arn": "role assumed for every call (optional)",
    "aws_assume_role_session_name": "session name of that role (optional)",
    "aws_endpoint_url": "one endpoint for every service: empty on AWS, an emulator's URL otherwise",
}
_OPTIONAL_AWS_KEYS = ("aws_profile_name", "aws_assume_role_arn", "aws_assume_role_session_name")
_CREDENTIALS = {
    "aws_access_key_id": ("the access key id (static credentials)", "AKIAIOSFODNN7EXAMPLE"),
    "aws_secret_access_key": ("its secret key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    "aws_session_token": ("the session token of temporary credentials (optional)", "..."),
}
# An example value per required kind (chaosaws_serverless.controls.preflight.KINDS).
KIND_EXAMPLES: dict[str, Any] = {
    "text": "https://api.example.com/api/hello",
    "route53-hosted-zone": "Z0123456789EXAMPLE",
    "route53-record": "api.example.com",
    "route53-health-check": "abcdef01-2345-6789-abcd-ef0123456789",
    "lambda-function": "api-hello",
    "lambda-layer-arns": {
        "us-east-1": "arn:aws:lambda:us-east-1:123456789012:layer:chaos-lambda-extension:12",
        "eu-west-1": "arn:aws:lambda:eu-west-1:123456789012:layer:chaos-lambda-extension:12",
    },
}
_REFERENCE = re.compile(r"\$\{([A-Za-z_][\w.-]*)\}")


def described_keys(catalog: Catalog) -> dict[str, str]:
    """Return {key: description} from every piece's ``descriptions`` (then chaostoolkit-aws's)."""
    found = dict(AWS_KEYS)
    for name in catalog.names():
        for key, text in (catalog.piece(name).body.get("descriptions") or {}).items():
            found[str(key)] = " ".join(str(text).split())
    return found


def values_template(experiment: Mapping[str, Any], catalog: Catalog, source: str = "") -> str:
    """Return the YAML var file of every value ``experiment`` needs (see the module docstring)."""
    declared = dict(experiment.get("configuration") or {})
    body = json.dumps({k: v for k, v in experiment.items() if k != "configuration"})
    used = sorted(set(_REFERENCE.findall(body)) - set(declared))
    descriptions = described_keys(catalog)
    scopes = dict(experiment.get("secrets") or {})
    lines = [
        f"# Values for {source or 'the experiment'}: fill in the REQUIRED ones, then",
        f"#   chaos run {source or 'EXPERIMENT'} --var-file THIS-FILE",
        "# chaos run reads its two blocks, configuration and secrets (chaoslib's merge_vars).",
        "configuration:",
    ]
    for key in [*declared, *used]:
        lines.extend(_configuration_line(key, declared.get(key), key in declared, descriptions))
    for key in _OPTIONAL_AWS_KEYS:
        if key not in declared and key not in used:
            lines.extend(_comment(descriptions[key]))
            lines.append(f"  # {_dump(key, _optional_example(key))}")
    lines.append("secrets:")
    if not scopes:
        scopes = {SECRETS_SCOPE: {}}
        lines.append(
            f"  # The experiment declares no secrets: its activities get no {SECRETS_SCOPE!r} "
            "scope, so these are read only by chaosaws-serverless's own commands."
        )
    for scope, keys in scopes.items():
        lines.extend(_scope_lines(str(scope), keys if isinstance(keys, Mapping) else {}))
    return "\n".join(lines) + "\n"


def _configuration_line(
    key: str, value: Any, is_declared: bool, descriptions: Mapping[str, str]
) -> list[str]:
    text = descriptions.get(key, "")
    if isinstance(value, Mapping) and "required" in value and "type" not in value:
        text = str(value.get("description") or text or value["required"])
        example = KIND_EXAMPLES.get(str(value["required"]), "...")
        if value["required"] == "lambda-function" and "health" in key:
            example = "api-health"
        return [*_comment(f"REQUIRED: {text}"), f"  {_dump(key, example)}"]
    if isinstance(value, Mapping) and value.get("type") == "env":
        # A value here would win over the environment variable: shown, left commented out.
        env = value.get("key")
        text = f"{text}; the experiment reads ${env} (default {value.get('default')!r})"
        return [*_comment(text.lstrip("; ")), f"  # {_dump(key, value.get('default', ''))}"]
    if not is_declared:
        text = f"{text} (used by the experiment, declared nowhere: no default)".lstrip()
        value = "..."
    return [*_comment(text or "(no description)"), f"  {_dump(key, value)}"]


def _comment(text: str, indent: str = "  ") -> list[str]:
    return [f"{indent}# {line}" for line in textwrap.wrap(text, 96 - len(indent))]


def _scope_lines(scope: str, keys: Mapping[str, Any]) -> list[str]:
    if scope != SECRETS_SCOPE:
        lines = [f"  # the experiment's secrets scope {scope!r}"]
        if not keys:
            return [*lines, f"  {scope}: {{}}"]
        lines.append(f"  {scope}:")
        lines.extend(f"    {_dump(str(k), '...')}" for k in keys)
        return lines
    lines = [
        f"  # chaostoolkit-aws's credentials, received by every activity naming the {scope!r}",
        "  # scope. Leave them out to use boto3's chain (environment, ~/.aws, SSO, role).",
        f"  {scope}:",
    ]
    for key in CREDENTIAL_KEYS:
        text, example = _CREDENTIALS[key]
        lines.append(f"    # {text}")
        lines.append(f"    # {_dump(key, example)}")
    lines.append("    {}")
    return lines


def _optional_example(key: str) -> str:
    return {
        "aws_profile_name": "my-profile",
        "aws_assume_role_arn": "arn:aws:iam::123456789012:role/chaos-experiment",
        "aws_assume_role_session_name": "chaosaws-serverless",
    }[key]


def _dump(key: str, value: Optional[Any]) -> str:
    text = yaml.safe_dump({key: value}, default_flow_style=True, width=1000, sort_keys=False)
    return text.strip()[1:-1]  # the mapping's braces off: "key: value"
