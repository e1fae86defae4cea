"""The fault record: what an injection changed, kept on the function itself as tags.

Rollback must work from any process, after a crash, in any region, so the
record of an injection lives on the AWS side: in the tags of the unqualified
function (Lambda tags belong to the function, not to versions or aliases).
Anything that injects or removes faults with this package's semantics (the
activities, the ``rollback`` CLI, the SSM Automation script of the FIS
scenario) reads and writes exactly this format.

Format, version 1
=================

Tags ``chaosaws-serverless:fault:0``, ``chaosaws-serverless:fault:1``, ...
(contiguous indexes, at most ``MAX_RECORD_TAGS``) hold, concatenated in index
order, the base64url text (RFC 4648 §5, ``=`` padding stripped) of a compact
UTF-8 JSON object. Each tag value holds at most 256 characters (Lambda's
limit; base64url only uses characters Lambda tag values accept). The
function keeps at most 50 tags in all (``aws:`` tags not counted): an
injection that would exceed it is refused before anything changes. The JSON object::

    {
      "v": 1,                               # format version
      "contract": "chaos-lambda-extension", # engine.contracts.CONTRACTS key
      "by": "alice@laptop pid 4242",        # who injected (user@host pid: the run)
      "at": "2026-11-29T06:00:00Z",         # when (UTC, seconds)
      "fault": {"kind": "latency", "latency_ms": 60000, "probability": 1.0},
               # or {"kind": "error", "status_code": 500, "probability": 0.02}
      "alias": null,                        # or {"name": "live", "version": "3",
                                            #     "faulty_version": "7" | null}
      "layers": ["arn:aws:lambda:us-east-1:123456789012:layer:chaos:4"],
               # layers the injection APPENDED (empty when already attached)
      "env": {
        "AWS_LAMBDA_EXEC_WRAPPER": {"was": null, "set": ["3f2a9c0d1e4b"]},
        "CHAOS_EXTENSION__LAMBDA__LATENCY_VALUE": {"was": "5", "set": ["..."]}
      },
      "selection": "checkout-latency",      # only when injected by tags (``tag_targets``):
                                            # the selection id its rollback restores
      "switch": "chaos-api-hello-1a2b3c4d"  # only with a dead man's switch (``switch``): the
                                            # schedule whose restore removes this fault
    }

``env`` lists every variable the injection wrote: ``was`` is the value before
(``null``: the variable did not exist) and ``set`` the digests of the values
the injection wrote (``digest``: the first 12 hex characters of SHA-256 of the
UTF-8 value). Only the fault contract's own variables ever appear, so the tags
never copy a secret of the function. An in-place re-injection keeps the digests
of the previous fault too (at most ``MAX_DIGESTS`` per variable).

Rollback is a three-way merge of (``was``, what we set, what is there now):

- a variable whose current value's digest is in ``set`` is restored to ``was``
  (deleted when ``was`` is null);
- any other current value (someone changed or deleted it meanwhile, or the
  injection never got to write it) is kept;
- each ARN of ``layers`` still attached is removed, other layers keep their
  order;
- with ``alias``: the $LATEST changes are only the window in which the faulty
  version was published; the alias is pointed back to ``version`` if it still
  points at ``faulty_version``, then ``faulty_version`` is deleted;
- the record tags are removed last, so a crash mid-rollback leaves a record to
  run the rollback again. Rollback without a record is a no-op.

Injection writes the record BEFORE changing the function, so a function never
carries a fault without a record; a record whose injection never happened rolls
back as a no-op (nothing matches its digests). Further rules of the injection
(``merge``, ``injection``):

- the chaos layer is appended unless a version of the same layer (ARN without
  its version) is already attached, which is then used as it is (``layers``
  stays empty);
- a second injection on the same target merges the first out, then applies the
  new fault; its record keeps the first's digests and variables;
- tags have no conditional write, so when the update meets a revision conflict
  (412) and the re-read shows the contract's variables or the chaos layer
  changed since the first read (another process injecting at the same time),
  the record keeps the FIRST-read ``was`` values, adds the digests of the values
  found and the chaos layer found, and is written again (stale chunks removed).
"""

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

FORMAT_VERSION = 1
RECORD_TAG_PREFIX = "chaosaws-serverless:fault:"
# Every record has its chunk 0: "carries a fault record" is "has this tag key".
FIRST_RECORD_KEY = f"{RECORD_TAG_PREFIX}0"
MAX_TAG_VALUE = 256
MAX_FUNCTION_TAGS = 50
MAX_RECORD_TAGS = 8
MAX_DIGESTS = 4
_INDEX = re.compile(r"^\d+$")


class RecordError(ValueError):
    """A record that cannot be written (too large) or read (damaged tags)."""


@dataclass
class EnvEntry:
    """One variable the injection wrote: its value before and digests of what it wrote."""

    was: Optional[str]
    set: list[str] = field(default_factory=list)


@dataclass
class FaultRecord:
    """The decoded record (see the module docstring for the format)."""

    contract: str
    by: str
    at: str
    fault: dict[str, Any]
    alias: Optional[dict[str, Optional[str]]] = None
    layers: list[str] = field(default_factory=list)
    env: dict[str, EnvEntry] = field(default_factory=dict)
    # The selection of a tag-targeted injection (``tag_targets``); absent otherwise.
    selection: Optional[str] = None
    # The dead man's switch armed for this fault (a schedule name); absent without one.
    switch: Optional[str] = None

    @property
    def target(self) -> str:
        """``"$LATEST"`` or the alias name the fault is on."""
        return str(self.alias["name"]) if self.alias else "$LATEST"

    def to_json(self) -> dict[str, Any]:
        return {
            "v": FORMAT_VERSION,
            "contract": self.contract,
            "by": self.by,
            "at": self.at,
            "fault": self.fault,
            "alias": self.alias,
            "layers": list(self.layers),
            "env": {k: {"was": e.was, "set": list(e.set)} for k, e in sorted(self.env.items())},
            **({"selection": self.selection} if self.selection else {}),
            **({"switch": self.switch} if self.switch else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "FaultRecord":
        if data.get("v") != FORMAT_VERSION:
            raise RecordError(f"record format version {data.get('v')!r}, expected {FORMAT_VERSION}")
        env = {
            str(k): EnvEntry(
                was=None if e.get("was") is None else str(e["was"]),
                set=[str(d) for d in e.get("set", [])],
            )
            for k, e in dict(data.get("env") or {}).items()
        }
        alias = data.get("alias")
        return cls(
            contract=str(data.get("contract", "")),
            by=str(data.get("by", "")),
            at=str(data.get("at", "")),
            fault=dict(data.get("fault") or {}),
            alias=dict(alias) if alias else None,
            layers=[str(arn) for arn in data.get("layers") or []],
            env=env,
            selection=str(data["selection"]) if data.get("selection") else None,
            switch=str(data["switch"]) if data.get("switch") else None,
        )


def digest(value: str) -> str:
    """Return the digest the record keeps of a value the injection wrote."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]


def pack(data: Mapping[str, Any], prefix: str = RECORD_TAG_PREFIX) -> dict[str, str]:
    """Return the tags ``prefix0``, ``prefix1``, ... that hold ``data`` (the format above)."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    packed = base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")
    chunks = [packed[i : i + MAX_TAG_VALUE] for i in range(0, len(packed), MAX_TAG_VALUE)]
    if len(chunks) > MAX_RECORD_TAGS:
        raise RecordError(
            f"the fault record needs {len(chunks)} tags of {MAX_TAG_VALUE} characters, more than "
            f"{MAX_RECORD_TAGS}: the function's chaos variables hold unusually long values"
        )
    return {f"{prefix}{i}": chunk for i, chunk in enumerate(chunks)}


def encode(record: FaultRecord) -> dict[str, str]:
    """Return the tags that hold ``record``; ``RecordError`` when it needs too many."""
    return pack(record.to_json())


def record_keys(tags: Mapping[str, str], prefix: str = RECORD_TAG_PREFIX) -> list[str]:
    """Return the record's tag keys present in ``tags``."""
    return sorted(k for k in tags if k.startswith(prefix))


def unpack(tags: Mapping[str, str], prefix: str = RECORD_TAG_PREFIX) -> Optional[dict[str, Any]]:
    """Return the JSON object the ``prefix`` tags hold, None when there are none."""
    chunks: dict[int, str] = {}
    for key in record_keys(tags, prefix):
        index = key[len(prefix) :]
        if not _INDEX.match(index):
            raise RecordError(f"unexpected record tag {key!r}")
        chunks[int(index)] = tags[key]
    if not chunks:
        return None
    if sorted(chunks) != list(range(len(chunks))):
        raise RecordError(f"record tags are not contiguous: indexes {sorted(chunks)}")
    packed = "".join(chunks[i] for i in range(len(chunks)))
    try:
        raw = base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4))
        data = json.loads(raw.decode("utf-8"))
    except ValueError as error:
        raise RecordError(f"record tags do not decode: {error}") from error
    if not isinstance(data, dict):
        raise RecordError("record tags do not hold a JSON object")
    return data


def decode(tags: Mapping[str, str]) -> Optional[FaultRecord]:
    """Return the record held in a function's ``tags``, None when there is none."""
    data = unpack(tags)
    return None if data is None else FaultRecord.from_json(data)


def check_tag_budget(
    tags: Mapping[str, str], record_tags: Mapping[str, str], prefix: str = RECORD_TAG_PREFIX
) -> None:
    """Raise ``RecordError`` when the function cannot hold ``record_tags`` beside its own tags."""
    # Tags whose key starts with "aws:" (CloudFormation's, for example) do not
    # count toward Lambda's limit of 50.
    others = [k for k in tags if not k.startswith((prefix, "aws:"))]
    total = len(others) + len(record_tags)
    if total > MAX_FUNCTION_TAGS:
        raise RecordError(
            f"the function has {len(others)} tags (aws: tags not counted) and the fault record "
            f"needs {len(record_tags)}: "
            f"{total} is over Lambda's limit of {MAX_FUNCTION_TAGS} tags per function; remove "
            f"{total - MAX_FUNCTION_TAGS} of its tags first"
        )
