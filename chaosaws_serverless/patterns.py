"""ARN, name and region patterns: one place, so every check is equally strict (pure, ``re`` only).

The Lambda fault engine uses them too, so this module is part of the SSM
document's script (``chaosaws_serverless.ssm.document``): standard library only.
"""

import re

# A region name: two letters, words, a digit (us-east-1, us-gov-west-1, ap-southeast-4).
REGION_TEXT = r"[a-z]{2}(?:-[a-z]+)+-\d"
REGION = re.compile(rf"^{REGION_TEXT}$")
# A layer version ARN (Lambda attaches only versions). No "{{" in the source: SSM reads
# {{ ... }} in a runbook's script as a reference to resolve (the SSM document holds this).
LAYER_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:(?P<region>" + REGION_TEXT + r"):(?P<account>\d{12}):"
    r"layer:(?P<name>[A-Za-z0-9_-]{1,140}):(?P<version>\d+)$"
)
# A function's own name, and the region part of its ARN (botocore's FunctionName pattern).
# Joined with "+", not f-strings: an f-string's doubled braces would reach the SSM script.
FUNCTION_NAME_TEXT = r"[A-Za-z0-9_-]{1,64}"
FUNCTION_REGION_TEXT = r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d"
# Lambda's FunctionName (botocore's pattern, split so a qualifier can be named):
# a name of at most 64 characters, an ARN or a partial ARN, maybe ":qualifier".
FUNCTION_NAME = re.compile(
    r"^(?:arn:aws[a-zA-Z-]*:lambda:(?P<region>" + FUNCTION_REGION_TEXT + r"):"
    r"\d{12}:function:|\d{12}:function:)?(?P<name>" + FUNCTION_NAME_TEXT + r")"
    r"(?::(?P<qualifier>.*))?$"
)
# A function's full ARN, maybe qualified (a version number or an alias name).
FUNCTION_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-zA-Z-]*):lambda:(?P<region>" + FUNCTION_REGION_TEXT + r"):"
    r"(?P<account>\d{12}):function:(?P<name>" + FUNCTION_NAME_TEXT + r")"
    r"(?::(?P<qualifier>\$LATEST|\d+|[A-Za-z0-9_-]{1,128}))?$"
)
# A function's name alone (no ARN, no qualifier): what a function is created with.
PLAIN_FUNCTION_NAME = re.compile("^" + FUNCTION_NAME_TEXT + "$")
# An alias name: not only digits (that would be a version).
ALIAS_NAME = re.compile(r"^(?!\d+$)[A-Za-z0-9_-]{1,128}$")
# An IAM role ARN.
ROLE_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):role/[\w+=,.@/-]{1,512}$"
)
