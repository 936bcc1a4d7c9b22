"""The aspect rules and the custom checkov checks judge values with one set of predicates
(policies/predicates.py): no layer keeps its own copy, and on generated hostile values both layers of a control
reach the same verdict — each only reads its own shape (checkov wraps every scalar in a one-element list)."""

from __future__ import annotations

import importlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies import predicates
from policies.catalog import area_of
from policies.controls.enc import rules as enc
from policies.controls.lam import rules as lam
from policies.controls.s3 import rules as s3
from policies.controls.sec import rules as sec
from policies.rules import values
from policies.rules.verdict import Status

SHARED = ("is_number", "is_customer_managed_key", "parameter")


@pytest.mark.parametrize("name", SHARED)
def test_both_layers_use_the_one_predicate(name):
    from policies import checkov_support  # imports checkov: not at collection
    shared = getattr(predicates, name)
    assert getattr(checkov_support, name) is shared
    assert getattr(values, "param" if name == "parameter" else name) is shared


def test_no_layer_defines_a_predicate_of_its_own():
    """A function defined in both layers' modules would be a copy; the readers of each shape are named apart."""
    from policies import checkov_support  # imports checkov: not at collection
    defined = {}
    for module in (values, checkov_support, enc, lam, s3, sec):
        defined[module.__name__] = {name for name, item in vars(module).items()
                                    if callable(item) and getattr(item, "__module__", None) == module.__name__}
    shared = set(vars(predicates))
    for module, names in defined.items():
        assert names & shared == set(), module


def checkov(control_id: str, module: str):
    return importlib.import_module(f"policies.controls.{area_of(control_id)}.checks.{module}").check


def aspect_passes(verdict) -> bool:
    return verdict.status is Status.COMPLIANT


def checkov_passes(result) -> bool:
    from policies import checkov_support  # imports checkov: not at collection
    return result is checkov_support.PASSED


KEYS = st.one_of(
    st.sampled_from(["alias/aws/sqs", "arn:aws:kms:us-east-1:111122223333:alias/aws/sns", "alias/payments-logs",
                     "arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/aws/ssm", " ", "",
                     "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                     "${aws_kms_key.logs.arn}"]),
    st.text(max_size=40), st.none(), st.integers(), st.booleans())


@settings(derandomize=True, max_examples=300, deadline=None)
@given(key=KEYS)
def test_both_layers_agree_on_a_customer_managed_key(key):
    aspect = enc.sqs_queue_encrypted_with_cmk({"kms_master_key_id": key})
    check = checkov("PCI-ENC-006", "pci_sqs_queue_cmk").scan_resource_conf({"kms_master_key_id": [key]})
    assert aspect_passes(aspect) == checkov_passes(check) == predicates.is_customer_managed_key(key)


ROTATION = st.fixed_dictionaries({}, optional={
    "automatically_after_days": st.one_of(st.integers(-5, 400), st.floats(allow_nan=False), st.booleans(),
                                          st.text(max_size=5)),
    "schedule_expression": st.one_of(st.integers(0, 90).map(lambda n: f"rate({n} days)"),
                                     st.sampled_from(["rate(1 day)", "rate(30 hours)", "cron(0 0 1 * ? *)",
                                                      "rate(31 days) ", "rate(3O days)"]),
                                     st.text(max_size=12)),
})


@settings(derandomize=True, max_examples=300, deadline=None)
@given(rules=ROTATION)
def test_both_layers_agree_on_a_rotation_period(rules):
    aspect = sec.secret_rotation_within_30_days({"rotation_rules": rules})
    wrapped = {key: [item] for key, item in rules.items()}
    check = checkov("PCI-SEC-001", "pci_secret_rotation_period").scan_resource_conf({"rotation_rules": [wrapped]})
    days = predicates.rotation_days(rules.get("automatically_after_days"), rules.get("schedule_expression"))
    expected = days is not None and days <= predicates.parameter("max_secret_rotation_days")
    assert aspect_passes(aspect) == checkov_passes(check) == expected


VARIABLE_NAMES = st.lists(st.one_of(st.sampled_from(["CONFIG_PATH", "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_",
                                                     "config_path", "DB_PASSWORD", "XPOWERTOOLS_X", "TABLE"]),
                                    st.text(min_size=1, max_size=12)), max_size=5, unique=True)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(names=VARIABLE_NAMES)
def test_both_layers_agree_on_lambda_environment_variables(names):
    variables = {name: "v" for name in names}
    aspect = lam.lambda_configuration_from_ssm({"environment": [{"variables": variables}]})
    check = checkov("PCI-LAM-004", "pci_lambda_configuration_from_ssm").scan_resource_conf(
        {"environment": [{"variables": [variables]}]} if variables else {})
    expected = predicates.disallowed_environment_variables(names) == []
    assert aspect_passes(aspect) == checkov_passes(check) == expected


@settings(derandomize=True, max_examples=200, deadline=None)
@given(name=st.one_of(st.sampled_from(["payments-prod-audit-logs", "AUDIT", "payments-service-logs", ""]),
                      st.text(max_size=20)), field=st.sampled_from(["bucket", "bucket_prefix"]))
def test_both_layers_agree_on_what_an_audit_bucket_is(name, field):
    """An audit bucket without Object Lock fails both layers; any other bucket is not their concern."""
    from policies import checkov_support  # imports checkov: not at collection
    aspect = s3.audit_bucket_object_lock_enabled({field: name, "object_lock_enabled": False})
    check = checkov("PCI-S3-005", "pci_audit_bucket_object_lock").scan_resource_conf(
        {field: [name], "object_lock_enabled": [False]})
    audit = predicates.is_audit_bucket_name(name)
    assert (aspect.status is Status.NON_COMPLIANT) == (check is checkov_support.FAILED) == audit
