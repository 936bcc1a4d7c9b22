"""Configuration comes only from SSM Parameter Store, below the path in `CONFIG_PATH` (e.g. `/payments/dev`);
which parameters exist, their types and value shapes are the contract in `payments_common.ssm_contract`.

Values are cached per container for `PARAMETER_MAX_AGE_SECONDS`, so a changed parameter takes effect within
five minutes without a deployment and a warm function does not call SSM on every request.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities import parameters

from payments_common.ssm_contract import JSON, SECURE_STRING, Parameter

PARAMETER_MAX_AGE_SECONDS = 300


def parameter_name(parameter: Parameter) -> str:
    """The full SSM name of a parameter, e.g. `dynamodb/transactions-table` -> `/payments/dev/dynamodb/...`."""
    return f"{os.environ['CONFIG_PATH'].rstrip('/')}/{parameter.name}"


def read(parameter: Parameter) -> Any:
    """The parameter's value as its contract says: a SecureString decrypted (needs kms:Decrypt on the
    parameter's key), a JSON document parsed, anything else as text."""
    return parameters.get_parameter(
        parameter_name(parameter),
        transform="json" if parameter.value_format == JSON else None,
        decrypt=parameter.type == SECURE_STRING,
        max_age=PARAMETER_MAX_AGE_SECONDS,
    )
