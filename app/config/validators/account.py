"""The ``account`` section: the AWS account the environment deploys to and the ARNs it may name in other
accounts (read by `make preflight`, not the synth)."""

from __future__ import annotations

import re
from typing import Any

from app.config.model import AccountConfig, CrossAccountArn
from app.config.reader import ARN_RE, FieldReader, is_text, matches

_ACCOUNT_ID_RE = re.compile(r"^\d{12}$")


def validate_account(reader: FieldReader, raw: Any) -> AccountConfig | None:
    data = reader.mapping(raw, "account", ("id",), optional=("cross_account_arns",))
    account_id = reader.value(
        data, "account", "id", matches(_ACCOUNT_ID_RE), "a 12-digit AWS account id as a quoted string"
    )
    raw_exceptions = data.get("cross_account_arns", [])
    if not isinstance(raw_exceptions, list):
        reader.problem("account.cross_account_arns", raw_exceptions, "a list of {arn, reason}")
        return None
    exceptions = []
    for name, entry in reader.entries(raw_exceptions, "account.cross_account_arns", ("arn", "reason")):
        arn = reader.value(entry, name, "arn", matches(ARN_RE), "an ARN")
        reason = reader.value(entry, name, "reason", is_text, "why this ARN lives in another account")
        if arn is not None and reason is not None:
            exceptions.append(CrossAccountArn(arn=arn, reason=reason))
    if account_id is None or len(exceptions) != len(raw_exceptions):
        return None
    return AccountConfig(id=account_id, cross_account_arns=tuple(exceptions))
