"""Runtime configuration in SSM Parameter Store under ``/payments/<env>/``: the Lambdas receive only the
path prefix and read values from SSM. Secrets are SecureStrings encrypted with the parameters CMK whose value
is generated at apply time by an ephemeral resource and written write-only: never in the synth, never in
state."""

from __future__ import annotations

import json
from typing import Any

from cdktf import TerraformStack
from cdktf_cdktf_provider_aws.ssm_parameter import SsmParameter
from constructs import Construct


def parameter_path(environment: str) -> str:
    return f"/payments/{environment}"


def generated_secret(stack: TerraformStack, name: str, *, length: int = 64) -> str:
    """A reference to a random value that exists only during apply (Terraform >= 1.11 ephemeral resource)."""
    stack.add_override(
        f"ephemeral.aws_secretsmanager_random_password.{name}", {"password_length": length, "exclude_punctuation": True}
    )
    return f"${{ephemeral.aws_secretsmanager_random_password.{name}.random_password}}"


class ConfigParameters(Construct):
    def __init__(self, scope: Construct, id_: str, *, environment: str, key_arn: str):
        super().__init__(scope, id_)
        self.path = parameter_path(environment)
        self._key_arn = key_arn
        self.parameters: dict[str, SsmParameter] = {}

    def _name(self, name: str) -> str:
        return f"{self.path}/{name}"

    def string(self, name: str, value: str, description: str) -> SsmParameter:
        parameter = SsmParameter(
            self,
            name.replace("/", "-"),
            name=self._name(name),
            type="String",
            value=value,
            description=description,
            tier="Standard",
        )
        self.parameters[name] = parameter
        return parameter

    def document(self, name: str, value: Any, description: str) -> SsmParameter:
        return self.string(name, json.dumps(value, sort_keys=True, separators=(",", ":")), description)

    def generated_secure(self, stack: TerraformStack, name: str, description: str) -> SsmParameter:
        parameter = SsmParameter(
            self,
            name.replace("/", "-"),
            name=self._name(name),
            type="SecureString",
            key_id=self._key_arn,
            value_wo=generated_secret(stack, name.replace("/", "_").replace("-", "_")),
            value_wo_version=1,
            description=description,
            tier="Standard",
        )
        self.parameters[name] = parameter
        return parameter

    def arn(self, name: str) -> str:
        return self.parameters[name].arn
