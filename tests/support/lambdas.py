"""Lambda functions and layers arranged in moto, and their state read back."""

import io
import zipfile
from collections.abc import Callable, Mapping
from typing import Any

US, EU = "us-east-1", "eu-west-1"
HANDLER_SOURCE = "def handler(event, context):\n    return {'statusCode': 200}\n"


def code_zip(files: Mapping[str, str] | None = None) -> bytes:
    """Return a zip of ``files`` (path -> text); by default ``app.py`` with ``app.handler``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in (files or {"app.py": HANDLER_SOURCE}).items():
            archive.writestr(name, text)
    return buffer.getvalue()


class World:
    """Arrange functions and layers in moto and read their state back."""

    def __init__(self, aws: Callable[..., Any], configuration: dict[str, Any]) -> None:
        self.aws = aws
        self.configuration = configuration
        self.role = aws("iam").create_role(RoleName="lambda-role", AssumeRolePolicyDocument="{}")[
            "Role"
        ]["Arn"]
        self.layer_arns: dict[str, str] = {}

    def layer(self, region: str = US, name: str = "chaos-lambda-extension", **kw: Any) -> str:
        arn = self.aws("lambda", region).publish_layer_version(
            LayerName=name, Content={"ZipFile": code_zip()}, **kw
        )["LayerVersionArn"]
        if name == "chaos-lambda-extension":
            self.layer_arns[region] = arn
            self.configuration["chaos_layer_arns"] = dict(self.layer_arns)
        return arn

    def function(
        self,
        name: str = "api-hello",
        region: str = US,
        env: dict[str, str] | None = None,
        layers: list[str] | None = None,
        tags: dict[str, str] | None = None,
        **kw: Any,
    ) -> str:
        params: dict[str, Any] = {
            "FunctionName": name,
            "Runtime": "python3.12",
            "Role": self.role,
            "Handler": "app.handler",
            "Code": {"ZipFile": code_zip()},
            **kw,
        }
        if env is not None:
            params["Environment"] = {"Variables": env}
        if layers:
            params["Layers"] = layers
        if tags:
            params["Tags"] = tags
        self.aws("lambda", region).create_function(**params)
        return name

    def config(self, name: str = "api-hello", region: str = US, qualifier: str = "") -> Any:
        params = {"FunctionName": name, **({"Qualifier": qualifier} if qualifier else {})}
        return self.aws("lambda", region).get_function(**params)

    def env(self, name: str = "api-hello", region: str = US, qualifier: str = "") -> dict:
        configuration = self.config(name, region, qualifier)["Configuration"]
        return dict((configuration.get("Environment") or {}).get("Variables") or {})

    def layers(self, name: str = "api-hello", region: str = US, qualifier: str = "") -> list:
        config = self.config(name, region, qualifier)["Configuration"]
        return [layer["Arn"] for layer in config.get("Layers") or []]

    def tags(self, name: str = "api-hello", region: str = US) -> dict:
        return dict(self.config(name, region).get("Tags") or {})

    def set_env(self, env: dict[str, str], name: str = "api-hello", region: str = US) -> None:
        self.aws("lambda", region).update_function_configuration(
            FunctionName=name, Environment={"Variables": env}
        )
