"""The ``api`` section: the public API Gateway (custom domain, an authorization the catalog allows, throttling,
the WAF rate limit)."""

from __future__ import annotations

from typing import Any

from app.config.model import ApiConfig
from app.config.reader import HOSTNAME_RE, FieldReader, arn_of, int_between, matches


def validate_api(reader: FieldReader, raw: Any) -> ApiConfig | None:
    data = reader.mapping(
        raw,
        "api",
        (
            "domain_name",
            "certificate_arn",
            "authorization",
            "throttle_rate_limit",
            "throttle_burst_limit",
            "waf_rate_limit_per_5_minutes",
        ),
    )
    domain = reader.value(
        data,
        "api",
        "domain_name",
        matches(HOSTNAME_RE),
        "the public DNS name of the API (custom domain, TLS 1.2 minimum)",
    )
    certificate = reader.value(data, "api", "certificate_arn", *arn_of("acm", "an ACM certificate for the domain"))
    authorization = reader.value(
        data,
        "api",
        "authorization",
        lambda v: v in reader.pci.api_authorizations,
        "one of " + ", ".join(reader.pci.api_authorizations) + " (never NONE)",
    )
    rate = reader.value(data, "api", "throttle_rate_limit", int_between(1, 10000), "1 to 10000 requests per second")
    burst = reader.value(data, "api", "throttle_burst_limit", int_between(1, 5000), "1 to 5000 requests")
    waf = reader.value(
        data,
        "api",
        "waf_rate_limit_per_5_minutes",
        int_between(10, 2000000000),
        "at least 10 requests per 5 minutes per client IP",
    )
    if None in (domain, certificate, authorization, rate, burst, waf):
        return None
    return ApiConfig(
        domain_name=domain,
        certificate_arn=certificate,
        authorization=authorization,
        throttle_rate_limit=rate,
        throttle_burst_limit=burst,
        waf_rate_limit_per_5_minutes=waf,
    )
