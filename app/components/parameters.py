"""Runtime configuration in SSM Parameter Store under ``/payments/<env>/``: the Lambdas receive only the
path prefix and read values from SSM. Which parameters exist, with which type and value shape, is the contract
in ``lambda_src/payments_common/ssm_contract.py``, shared with the functions that read them. Secrets are
SecureStrings encrypted with the parameters CMK whose value is generated at apply time by an ephemeral resource
and written write-only: never in the synth, never in state."""

from __future__ import annotations

import json
from typing import Any

from cdktf import TerraformStack
from cdktf_cdktf_provider_aws.ssm_parameter import SsmParameter
from constructs import Construct

from app.components.account import AccountScope
from app.components.iam import IamStatement, statement
from lambda_src.payments_common.ssm_contract import (
    JSON,
    SECURE_STRING,
    STRING,
    TEXT,
    Parameter,
    parameter_path,
    read_by,
)


def generated_secret(stack: TerraformStack, name: str, *, length: int = 64) -> str:
    """A reference to a random value that exists only during apply (Terraform >= 1.11 ephemeral resource)."""
    stack.add_override(
        f"ephemeral.aws_secretsmanager_random_password.{name}", {"password_length": length, "exclude_punctuation": True}
    )
    return f"${{ephemeral.aws_secretsmanager_random_password.{name}.random_password}}"


def _check_contract(parameter: Parameter, type_: str, value_format: str) -> None:
    if (parameter.type, parameter.value_format) != (type_, value_format):
        raise ValueError(
            f"SSM parameter {parameter.name} is a {parameter.type} {parameter.value_format} parameter in "
            f"lambda_src/payments_common/ssm_contract.py, not a {type_} {value_format} one: "
            "write it as the contract says"
        )


class ConfigParameters(Construct):
    def __init__(self, scope: Construct, id_: str, *, environment: str, key_arn: str) -> None:
        super().__init__(scope, id_)
        self.path = parameter_path(environment)
        self._key_arn = key_arn
        self.parameters: dict[str, SsmParameter] = {}

    def grant_read_by(self, function: str, account: AccountScope) -> IamStatement:
        """ssm:GetParameter on exactly the parameters ``function`` reads (the SSM contract), below this path."""
        prefix = account.arn("ssm", f"parameter{self.path}")
        arns = [f"{prefix}/{parameter.name}" for parameter in read_by(function)]
        return statement("ReadOwnConfiguration", ["ssm:GetParameter"], arns)

    def grant_decrypt(self) -> IamStatement:
        """kms:Decrypt on the parameters key, which reading a SecureString parameter needs."""
        return statement("DecryptSecureParameters", ["kms:Decrypt"], [self._key_arn])

    def _name(self, parameter: Parameter) -> str:
        return f"{self.path}/{parameter.name}"

    def _string(self, parameter: Parameter, value: str, description: str) -> SsmParameter:
        written = SsmParameter(
            self,
            parameter.name.replace("/", "-"),
            name=self._name(parameter),
            type=STRING,
            value=value,
            description=description,
            tier="Standard",
        )
        self.parameters[parameter.name] = written
        return written

    def string(self, parameter: Parameter, value: str, description: str) -> SsmParameter:
        _check_contract(parameter, STRING, TEXT)
        return self._string(parameter, value, description)

    def document(self, parameter: Parameter, value: Any, description: str) -> SsmParameter:
        _check_contract(parameter, STRING, JSON)
        return self._string(parameter, json.dumps(value, sort_keys=True, separators=(",", ":")), description)

    def generated_secure(self, stack: TerraformStack, parameter: Parameter, description: str) -> SsmParameter:
        _check_contract(parameter, SECURE_STRING, TEXT)
        local_name = parameter.name.replace("/", "_").replace("-", "_")
        written = SsmParameter(
            self,
            parameter.name.replace("/", "-"),
            name=self._name(parameter),
            type=SECURE_STRING,
            key_id=self._key_arn,
            value_wo=generated_secret(stack, local_name),
            value_wo_version=1,
            description=description,
            tier="Standard",
        )
        self.parameters[parameter.name] = written
        return written
