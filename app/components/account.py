"""Where a component is deployed: the account, region and partition every scoped ARN is built from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AccountScope:
    region: str
    account_id: str  # a token of the stack's caller identity
    partition: str  # a token of the stack's partition data source

    def arn(self, service: str, resource: str) -> str:
        """The ARN of a regional resource of this account, e.g. ``arn("logs", "log-group:x")``."""
        return f"arn:{self.partition}:{service}:{self.region}:{self.account_id}:{resource}"
