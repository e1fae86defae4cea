"""Placeholder: replaced by the chaos-layer script."""


def handler(events, context):
    return {"result": "noop"}
