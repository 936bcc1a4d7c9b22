"""One stack per domain per environment, built in dependency order by :func:`build_environment`."""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from app.config import EnvironmentConfig
from app.stacks.network import NetworkStack
from app.stacks.security import SecurityStack


@dataclass(frozen=True)
class EnvironmentStacks:
    security: SecurityStack
    network: NetworkStack


def build_environment(scope: Construct, config: EnvironmentConfig) -> EnvironmentStacks:
    security = SecurityStack(scope, config=config)
    network = NetworkStack(scope, config=config, security=security)
    return EnvironmentStacks(security=security, network=network)
