"""The SSM contract (lambda_src/payments_common/ssm_contract.py) ties the stacks that publish the runtime
configuration to the functions that read it: the synth publishes exactly the contract's parameters with its
types, each function's role may read exactly the parameters its code reads, the code names parameters only
through the contract, and the functions' zips ship it."""

from __future__ import annotations

import ast
import json
import zipfile
from pathlib import Path

import pytest

from app.packaging import LAMBDA_SRC, SHARED_PACKAGE, build_lambda_package
from lambda_src.payments_common import ssm_contract
from tests.conftest import REPO_ROOT
from tests.test_compute import functions_of, role_policy

ENVIRONMENTS = ("dev", "staging", "prod")
FUNCTIONS = ("payment_validation", "fraud_detection", "transaction_processing")
CONTRACT_FILE = LAMBDA_SRC / SHARED_PACKAGE / "ssm_contract.py"


def published(synth, env: str) -> dict[str, dict]:
    """Every SSM parameter of the environment's stacks, by name relative to its path."""
    prefix = ssm_contract.parameter_path(env) + "/"
    found: dict[str, dict] = {}
    for domain in ("security", "network", "data", "compute", "api", "monitoring"):
        for resource in synth.stack(env, domain).resources("aws_ssm_parameter"):
            name = resource.body["name"]
            assert name.startswith(prefix), name
            assert name[len(prefix):] not in found, f"{name} is published twice"
            found[name[len(prefix):]] = resource.body
    return found


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_stacks_publish_exactly_the_contract_with_its_types(synth, env):
    bodies = published(synth, env)
    assert set(bodies) == {parameter.name for parameter in ssm_contract.PARAMETERS}
    for parameter in ssm_contract.PARAMETERS:
        body = bodies[parameter.name]
        assert body["type"] == parameter.type, parameter.name
        if parameter.type == ssm_contract.SECURE_STRING:
            assert "value" not in body and body["value_wo"].startswith("${ephemeral.")
        elif parameter.value_format == ssm_contract.JSON:
            assert isinstance(json.loads(body["value"]), dict), parameter.name


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_function_may_read_exactly_the_parameters_its_code_reads(synth, env):
    compute = synth.stack(env, "compute")
    prefix = f":parameter{ssm_contract.parameter_path(env)}/"
    functions = functions_of(compute)
    assert set(functions) == set(FUNCTIONS)
    for function in FUNCTIONS:
        [grant] = [s for s in role_policy(compute, functions[function])["Statement"]
                   if s["Sid"] == "ReadOwnConfiguration"]
        assert grant["Action"] in ("ssm:GetParameter", ["ssm:GetParameter"])
        resources = grant["Resource"] if isinstance(grant["Resource"], list) else [grant["Resource"]]
        granted = {arn.split(prefix, 1)[1] for arn in resources}
        assert granted == {p.name for p in ssm_contract.read_by(function)} == contract_names_read_by_code(function)


def contract_names_read_by_code(function: str) -> set[str]:
    """Parameters a function's own code names (``ssm_contract.X``) — the names it passes to settings.read."""
    names = set()
    for path in (LAMBDA_SRC / function).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "ssm_contract":
                parameter = getattr(ssm_contract, node.attr)
                if isinstance(parameter, ssm_contract.Parameter):
                    names.add(parameter.name)
    return names


def test_no_code_spells_a_parameter_name_outside_the_contract():
    """Docstrings may mention a parameter; code names it only through the contract. (policies/ is not
    scanned: the gate reads only the synth and imports nothing of the platform's code.)"""
    names = {parameter.name for parameter in ssm_contract.PARAMETERS}
    spelled = []
    for root in ("app", "lambda_src", "tools"):
        for path in (REPO_ROOT / root).rglob("*.py"):
            if path == CONTRACT_FILE:
                continue
            tree = ast.parse(path.read_text())
            docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
            for node in ast.walk(tree):
                if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                        and any(name in node.value for name in names)):
                    spelled.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}: {node.value!r}")
    assert spelled == []


def test_a_parameter_written_against_its_contract_type_is_refused(tmp_path):
    from cdktf import App, TerraformStack

    from app.components.parameters import ConfigParameters

    stack = TerraformStack(App(outdir=str(tmp_path)), "contract")
    parameters = ConfigParameters(stack, "parameters", environment="test", key_arn="arn:aws:kms:us-east-1:1:key/k")
    with pytest.raises(ValueError, match="secure/card-token-key is a SecureString text parameter"):
        parameters.string(ssm_contract.CARD_TOKEN_KEY, "plain text", "the card token key")
    with pytest.raises(ValueError, match="fraud/thresholds is a String json parameter"):
        parameters.string(ssm_contract.FRAUD_THRESHOLDS, "{}", "thresholds")
    with pytest.raises(ValueError, match="dynamodb/transactions-table is a String text parameter"):
        parameters.generated_secure(stack, ssm_contract.TRANSACTIONS_TABLE, "the table")
    assert parameters.parameters == {}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_zip_ships_the_contract_it_reads_through(function):
    package = build_lambda_package(function)
    with zipfile.ZipFile(package.path) as archive:
        shipped = archive.read(f"{SHARED_PACKAGE}/ssm_contract.py")
        settings = archive.read(f"{SHARED_PACKAGE}/settings.py").decode()
    assert shipped == CONTRACT_FILE.read_bytes()
    assert "from payments_common.ssm_contract import" in settings


def test_the_contract_refuses_an_unknown_type_or_format():
    with pytest.raises(ValueError, match="type 'StringList'"):
        ssm_contract.Parameter("x/y", "StringList", ssm_contract.TEXT)
    with pytest.raises(ValueError, match="format 'yaml'"):
        ssm_contract.Parameter("x/y", ssm_contract.STRING, "yaml")


def test_the_contract_is_standard_library_only():
    """The functions import it at cold start from their zip; app/ imports it without the Lambda dependencies."""
    tree = ast.parse(Path(CONTRACT_FILE).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"__future__", "dataclasses"}
