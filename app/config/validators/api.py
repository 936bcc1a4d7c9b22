"""The ``api`` section: the public API Gateway (custom domain, an authorization the catalog allows, throttling,
the WAF rate limit)."""

from __future__ import annotations

from typing import Any

from app.config.model import ApiConfig
from app.config.reader import HOSTNAME_RE, FieldReader, arn_of, int_between, matches


def validate_api(reader: FieldReader, raw: Any) -> ApiConfig | None:
    authorizations = reader.pci.api_authorizations
    checks = {
        "domain_name": (
            matches(HOSTNAME_RE),
            "the public DNS name of the API (custom domain, TLS 1.2 minimum)",
        ),
        "certificate_arn": arn_of("acm", "an ACM certificate for the domain"),
        "authorization": (
            lambda v: v in authorizations,
            "one of " + ", ".join(authorizations) + " (never NONE)",
        ),
        "throttle_rate_limit": (int_between(1, 10000), "1 to 10000 requests per second"),
        "throttle_burst_limit": (int_between(1, 5000), "1 to 5000 requests"),
        "waf_rate_limit_per_5_minutes": (
            int_between(10, 2000000000),
            "at least 10 requests per 5 minutes per client IP",
        ),
    }
    data = reader.mapping(raw, "api", tuple(checks))
    values = reader.values(data, "api", checks)
    if any(value is None for value in values.values()):
        return None
    return ApiConfig(**values)
