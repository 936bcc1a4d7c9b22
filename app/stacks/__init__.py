"""One stack per domain per environment, built in dependency order by :func:`build_environment`."""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from app.config import EnvironmentConfig
from app.stacks.api import ApiStack
from app.stacks.audit import AuditStack
from app.stacks.compute import ComputeStack
from app.stacks.data import DataStack
from app.stacks.foundation import Foundation
from app.stacks.monitoring import MonitoringStack
from app.stacks.network import NetworkStack
from app.stacks.security import SecurityStack


@dataclass(frozen=True)
class EnvironmentStacks:
    security: SecurityStack
    network: NetworkStack
    data: DataStack
    compute: ComputeStack
    api: ApiStack
    monitoring: MonitoringStack
    audit: AuditStack


def build_environment(scope: Construct, config: EnvironmentConfig) -> EnvironmentStacks:
    security = SecurityStack(scope, config=config)
    network = NetworkStack(scope, config=config, security=security)
    foundation = Foundation(config=config, security=security, network=network)
    data = DataStack(scope, foundation=foundation)
    compute = ComputeStack(scope, foundation=foundation, data=data)
    api = ApiStack(scope, foundation=foundation, compute=compute)
    monitoring = MonitoringStack(scope, foundation=foundation, data=data, compute=compute, api=api)
    audit = AuditStack(scope, foundation=foundation, data=data, monitoring=monitoring)
    return EnvironmentStacks(
        security=security, network=network, data=data, compute=compute, api=api, monitoring=monitoring, audit=audit
    )
