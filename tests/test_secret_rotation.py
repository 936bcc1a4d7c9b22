"""The application user's rotation function (lambda_src/secret_rotation) against a real PostgreSQL 15 server
(tests/postgres_server.py: TLS only, SCRAM) and Secrets Manager emulated in-process by moto.

How the Secrets Manager side of a rotation is emulated: AWS's RotateSecret attaches AWSPENDING to a new,
value-less version whose id is the ClientRequestToken, then invokes the function with createSecret, setSecret,
testSecret and finishSecret; when a step fails it retries the whole sequence from createSecret with the same
token. No public API can create such a value-less version (PutSecretValue needs a value, which would make
createSecret keep it), but moto's own rotate_secret does exactly that when the secret has a rotation function,
and then invokes the function through moto's Lambda backend. So a (docker-less) moto Lambda function stands
for ours, and SecretsManagerService patches moto's Lambda backend to run `lambda_handler` in-process instead
of a container. moto does not retry a failed rotation: SecretsManagerService re-invokes the four steps with
the same token, as the service does. No code of the rotation function itself is replaced: faults are
injected into botocore and pg8000.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import secrets
import socket
import ssl
import struct
import sys
import threading
import traceback
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import botocore.client
import botocore.exceptions
import pg8000.exceptions
import pg8000.native
import pytest
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend

from lambda_src.secret_rotation import handler
from tests.postgres_server import PostgresServer, make_certificate_authority, running_postgres

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
DATABASE = "payments"
APP_USER = "payments_app"
CLONE_USER = "payments_app_clone"
APP_ROLE = "payments_rw"
MASTER_USER = "payments_admin"
# How many times SecretsManagerService retries a failed rotation; the service's own count is not published.
SERVICE_RETRIES = 2
FUNCTION_NAME = "payments-secret-rotation"
LAMBDA_CONTEXT = SimpleNamespace(
    function_name=FUNCTION_NAME,
    memory_limit_in_mb=256,
    invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION_NAME}",
    aws_request_id="00000000-0000-4000-8000-000000000000",
)
# What a PostgreSQL client sends first to ask for TLS: Int32 length 8, Int32 code 80877103.
SSL_REQUEST = struct.pack("!ii", 8, 80877103)


@dataclass(frozen=True)
class Credential:
    username: str
    password: str


@dataclass(frozen=True)
class DatabaseUsers:
    master: Credential
    app: Credential


@dataclass
class Invocation:
    step: str
    token: str
    error: BaseException | None
    current_works: bool | None
    pending_password_digest: str | None


class RotationStepFailed(Exception):
    """The function returned an error for one step: what Secrets Manager sees of a failed invocation."""


class RotationFailed(Exception):
    """The first attempt and every retry of a rotation failed."""

    def __init__(self, token: str):
        super().__init__(f"rotation {token} failed")
        self.token = token


class SecretsManagerService:
    """Drives rotations of one secret the way Secrets Manager does, and records every step invocation.

    `check_current` runs after every invocation; `skipped_steps` are answered with success without running the
    function, like a broken deployment would, to show what the later steps do about it."""

    def __init__(
        self, secret_id: str, function_arn: str, check_current: Callable[[SecretsManagerService], bool] | None
    ):
        self.secret_id = secret_id
        self.function_arn = function_arn
        self.check_current = check_current
        self.client = boto3.client("secretsmanager")
        self.invocations: list[Invocation] = []
        self.current_step: str | None = None
        self.skipped_steps: set[str] = set()

    def rotate(self) -> str:
        token = str(uuid.uuid4())
        try:
            self.client.rotate_secret(
                SecretId=self.secret_id,
                ClientRequestToken=token,
                RotationLambdaARN=self.function_arn,
                RotationRules={"AutomaticallyAfterDays": 30},
            )
            return token
        except RotationStepFailed:
            pass
        lambda_client = boto3.client("lambda")
        for _ in range(SERVICE_RETRIES):
            try:
                for step in STEPS:
                    event = {"SecretId": self.secret_id, "ClientRequestToken": token, "Step": step}
                    lambda_client.invoke(FunctionName=self.function_arn, Payload=json.dumps(event))
                return token
            except RotationStepFailed:
                continue
        raise RotationFailed(token)

    def run_function(self, body: str) -> bytes:
        """Stands in for moto's Lambda backend `invoke`: runs the rotation function in this process."""
        event = json.loads(body)
        error = None
        if event["Step"] not in self.skipped_steps:
            self.current_step = event["Step"]
            try:
                handler.lambda_handler(event, LAMBDA_CONTEXT)
            except Exception as failure:
                error = failure
            finally:
                self.current_step = None
        self.invocations.append(
            Invocation(
                step=event["Step"],
                token=event["ClientRequestToken"],
                error=error,
                current_works=self.check_current(self) if self.check_current else None,
                pending_password_digest=self._password_digest(event["ClientRequestToken"]),
            )
        )
        if error is not None:
            raise RotationStepFailed(event["Step"]) from error
        return b"null"

    def secret(self, stage: str = "AWSCURRENT", version_id: str | None = None) -> dict[str, Any]:
        request = {"SecretId": self.secret_id, "VersionStage": stage}
        if version_id:
            request["VersionId"] = version_id
        return json.loads(self.client.get_secret_value(**request)["SecretString"])

    def stages(self) -> dict[str, list[str]]:
        return self.client.describe_secret(SecretId=self.secret_id)["VersionIdsToStages"]

    def current_version(self) -> str:
        return next(version for version, stages in self.stages().items() if "AWSCURRENT" in stages)

    def all_passwords(self) -> set[str]:
        versions = self.client.list_secret_version_ids(SecretId=self.secret_id)["Versions"]
        passwords = {self._password_of(version["VersionId"]) for version in versions}
        return {password for password in passwords if password is not None}

    def _password_of(self, version_id: str) -> str | None:
        try:
            secret_string = self.client.get_secret_value(SecretId=self.secret_id, VersionId=version_id)["SecretString"]
        except self.client.exceptions.ResourceNotFoundException:
            return None  # the value-less version RotateSecret creates
        return json.loads(secret_string)["password"]

    def _password_digest(self, version_id: str) -> str | None:
        password = self._password_of(version_id)
        return None if password is None else hashlib.sha256(password.encode()).hexdigest()


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    with running_postgres(settings={"log_statement": "'all'", "log_connections": "on"}) as server:
        with server.connect_as_superuser() as admin:
            # Like the RDS master user (rds_superuser), the master is no superuser: it can only manage roles.
            admin.run(f"CREATE ROLE {MASTER_USER} WITH LOGIN CREATEROLE")
            admin.run(f"CREATE ROLE {APP_ROLE} NOLOGIN")
            admin.run(f"CREATE ROLE {APP_USER} WITH LOGIN IN ROLE {APP_ROLE}")
            admin.run(f"CREATE DATABASE {DATABASE}")
            admin.run(f"REVOKE CONNECT ON DATABASE {DATABASE} FROM PUBLIC")
            admin.run(f"GRANT CONNECT ON DATABASE {DATABASE} TO {APP_ROLE}, {MASTER_USER}")
        with server.connect_as_superuser(DATABASE) as admin:
            admin.run("CREATE TABLE ledger (id serial PRIMARY KEY, amount_cents bigint NOT NULL)")
            admin.run("INSERT INTO ledger (amount_cents) VALUES (1250)")
            admin.run(f"GRANT SELECT, INSERT ON ledger TO {APP_ROLE}")
        yield server


@pytest.fixture
def users(postgres: PostgresServer) -> DatabaseUsers:
    """Fresh passwords and no clone user: every test starts from the state before the first rotation."""
    master = Credential(MASTER_USER, secrets.token_urlsafe(24))
    app = Credential(APP_USER, secrets.token_urlsafe(24))
    with postgres.connect_as_superuser() as admin:
        admin.run(f"DROP ROLE IF EXISTS {CLONE_USER}")
        for user in (master, app):
            admin.run(f"ALTER ROLE {user.username} WITH LOGIN PASSWORD {pg8000.native.literal(user.password)}")
    return DatabaseUsers(master=master, app=app)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_LAMBDA", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws(config={"lambda": {"use_docker": False}}):
        handler.secrets_manager.cache_clear()
        try:
            yield
        finally:
            handler.secrets_manager.cache_clear()


def start_service(
    monkeypatch: pytest.MonkeyPatch,
    users: DatabaseUsers,
    host: str,
    port: int,
    check_current: Callable[[SecretsManagerService], bool] | None,
) -> SecretsManagerService:
    client = boto3.client("secretsmanager")
    master_arn = client.create_secret(
        Name="rds!cluster-5b0f7e4c-payments-test",
        SecretString=json.dumps({"username": users.master.username, "password": users.master.password}),
    )["ARN"]
    app_secret = {
        "engine": "postgres",
        "host": host,
        "port": port,
        "dbname": DATABASE,
        "username": users.app.username,
        "password": users.app.password,
        "ssl": True,
        "masterarn": master_arn,
    }
    secret_arn = client.create_secret(Name="payments/test/aurora/app", SecretString=json.dumps(app_secret))["ARN"]

    role_arn = boto3.client("iam").create_role(
        RoleName=FUNCTION_NAME,
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]
    # moto stores this package but never runs it: run_function runs the handler in this process.
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.write(Path(handler.__file__), "handler.py")
    function_arn = boto3.client("lambda").create_function(
        FunctionName=FUNCTION_NAME,
        Runtime="python3.12",
        Role=role_arn,
        Handler="handler.lambda_handler",
        Code={"ZipFile": package.getvalue()},
    )["FunctionArn"]

    service = SecretsManagerService(secret_arn, function_arn, check_current)
    monkeypatch.setattr(
        LambdaSimpleBackend,
        "invoke",
        lambda backend, function_name, qualifier, body, headers, response_headers: service.run_function(body),
    )
    return service


@pytest.fixture
def service(
    aws: None, postgres: PostgresServer, users: DatabaseUsers, monkeypatch: pytest.MonkeyPatch
) -> SecretsManagerService:
    monkeypatch.setenv("DB_TLS_CA_FILE", str(postgres.ca_file))

    def current_credential_works(service: SecretsManagerService) -> bool:
        current = service.secret()
        return can_log_in(postgres, Credential(current["username"], current["password"]))

    return start_service(monkeypatch, users, postgres.host, postgres.port, current_credential_works)


def can_log_in(postgres: PostgresServer, credential: Credential) -> bool:
    """Logs in to the application database and reads the application table, as the application does."""
    try:
        with postgres.connect(credential.username, credential.password, DATABASE) as connection:
            connection.run("SELECT count(*) FROM ledger")
    except pg8000.exceptions.DatabaseError as error:
        if sqlstate(error).startswith("28"):
            return False
        raise
    return True


def server_log_since(postgres: PostgresServer, offset: int) -> str:
    return postgres.log_file.read_bytes()[offset:].decode(errors="replace")


def sqlstate(error: BaseException) -> str:
    return error.args[0].get("C", "") if error.args and isinstance(error.args[0], dict) else ""


def assert_promoted(service: SecretsManagerService, old_version: str, new_version: str) -> None:
    stages = service.stages()
    assert "AWSCURRENT" in stages[new_version]
    # AWS allows AWSPENDING to stay on the new AWSCURRENT version, and nowhere else, after a rotation.
    assert set(stages[new_version]) <= {"AWSCURRENT", "AWSPENDING"}
    assert stages[old_version] == ["AWSPREVIOUS"]
    assert [version for version, labels in stages.items() if "AWSCURRENT" in labels] == [new_version]
    assert [version for version, labels in stages.items() if "AWSPENDING" in labels and version != new_version] == []


def test_rotation_alternates_users_and_keeps_the_old_credential_working(
    service: SecretsManagerService, postgres: PostgresServer, users: DatabaseUsers
) -> None:
    original_version = service.current_version()
    first_token = service.rotate()

    assert [(invocation.step, invocation.error) for invocation in service.invocations] == [
        (step, None) for step in STEPS
    ]
    # Before finishSecret, AWSCURRENT is the original credential: it worked after every step.
    assert all(invocation.current_works for invocation in service.invocations)
    assert service.stages() == {original_version: ["AWSPREVIOUS"], first_token: ["AWSCURRENT"]}
    clone = service.secret()
    assert clone["username"] == CLONE_USER
    assert clone["password"] != users.app.password
    assert clone == {**service.secret(stage="AWSPREVIOUS"), "username": CLONE_USER, "password": clone["password"]}
    assert can_log_in(postgres, Credential(CLONE_USER, clone["password"]))
    assert can_log_in(postgres, users.app), "the previous user must keep working until the next rotation"

    second_token = service.rotate()

    assert all(invocation.error is None and invocation.current_works for invocation in service.invocations)
    back = service.secret()
    assert back["username"] == APP_USER
    assert back["password"] not in {users.app.password, clone["password"]}
    assert can_log_in(postgres, Credential(APP_USER, back["password"]))
    assert not can_log_in(postgres, users.app)
    assert can_log_in(postgres, Credential(CLONE_USER, clone["password"]))
    assert service.stages() == {original_version: [], first_token: ["AWSPREVIOUS"], second_token: ["AWSCURRENT"]}


def fail_after_aws_call(
    monkeypatch: pytest.MonkeyPatch, service: SecretsManagerService, step: str, operation: str, **parameters: str
) -> list[str]:
    """The first `operation` call (with these `parameters`) made during `step` takes effect, then its response is
    lost with the connection. Returns a list that records the fault once it has fired."""
    fired: list[str] = []
    make_api_call = botocore.client.BaseClient._make_api_call

    def make_api_call_then_lose_response(client: Any, operation_name: str, api_parameters: dict[str, Any]) -> Any:
        response = make_api_call(client, operation_name, api_parameters)
        if (
            not fired
            and service.current_step == step
            and operation_name == operation
            and all(api_parameters.get(name) == value for name, value in parameters.items())
        ):
            fired.append(operation_name)
            raise botocore.exceptions.ConnectionClosedError(endpoint_url=client.meta.endpoint_url)
        return response

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", make_api_call_then_lose_response)
    return fired


def fail_after_sql(
    monkeypatch: pytest.MonkeyPatch, service: SecretsManagerService, step: str, statement_prefixes: tuple[str, ...]
) -> list[str]:
    """The first statement starting with one of `statement_prefixes` run during `step` is executed (and committed)
    by the server, then the network fails before the client sees the result. Returns a list that records the
    fault once it has fired."""
    fired: list[str] = []
    run = pg8000.native.Connection.run

    def run_then_lose_network(connection: pg8000.native.Connection, sql: str, *args: Any, **kwargs: Any) -> Any:
        rows = run(connection, sql, *args, **kwargs)
        if not fired and service.current_step == step and sql.lstrip().upper().startswith(statement_prefixes):
            fired.append(sql.split()[0])
            raise pg8000.exceptions.InterfaceError("network error")
        return rows

    monkeypatch.setattr(pg8000.native.Connection, "run", run_then_lose_network)
    return fired


FAULT_AFTER_STEP = {
    "createSecret": lambda monkeypatch, service: fail_after_aws_call(
        monkeypatch, service, "createSecret", "PutSecretValue"
    ),
    "setSecret": lambda monkeypatch, service: fail_after_sql(
        monkeypatch, service, "setSecret", ("CREATE ROLE", "ALTER ROLE")
    ),
    "testSecret": lambda monkeypatch, service: fail_after_sql(monkeypatch, service, "testSecret", ("SELECT",)),
    "finishSecret": lambda monkeypatch, service: fail_after_aws_call(
        monkeypatch, service, "finishSecret", "UpdateSecretVersionStage", VersionStage="AWSCURRENT"
    ),
}


@pytest.mark.parametrize("rotation_number", [1, 2], ids=["creating-the-clone", "altering-the-original"])
@pytest.mark.parametrize("failed_step", STEPS, ids=[f"crash-after-{step}" for step in STEPS])
def test_rotation_recovers_from_a_crash_after_each_step(
    service: SecretsManagerService,
    postgres: PostgresServer,
    monkeypatch: pytest.MonkeyPatch,
    failed_step: str,
    rotation_number: int,
) -> None:
    if rotation_number == 2:
        service.rotate()
        service.invocations.clear()
    old_version = service.current_version()
    old_username = service.secret()["username"]
    server_log_start = postgres.log_file.stat().st_size
    fired = FAULT_AFTER_STEP[failed_step](monkeypatch, service)

    token = service.rotate()

    assert fired, "the fault was never injected"
    failed_at = STEPS.index(failed_step)
    # The failed attempt, then Secrets Manager's retry from createSecret with the same token.
    assert [invocation.step for invocation in service.invocations] == [*STEPS[: failed_at + 1], *STEPS]
    assert {invocation.token for invocation in service.invocations} == {token}
    assert [invocation.step for invocation in service.invocations if invocation.error] == [failed_step]
    assert all(invocation.current_works for invocation in service.invocations), [
        (invocation.step, invocation.current_works) for invocation in service.invocations
    ]
    assert len({invocation.pending_password_digest for invocation in service.invocations}) == 1, (
        "createSecret must keep the pending password of the failed attempt"
    )
    role_statements = re.findall(r"statement: (?:CREATE|ALTER) ROLE", server_log_since(postgres, server_log_start))
    assert len(role_statements) == 1, "setSecret must not set a pending password that already works again"
    assert_promoted(service, old_version, token)
    new = service.secret()
    assert new["username"] == {APP_USER: CLONE_USER, CLONE_USER: APP_USER}[old_username]
    assert can_log_in(postgres, Credential(new["username"], new["password"]))


@pytest.mark.parametrize("cause", ["setSecret-skipped", "clone-login-revoked"])
def test_a_failing_test_step_never_promotes_the_pending_version(
    service: SecretsManagerService, postgres: PostgresServer, users: DatabaseUsers, cause: str
) -> None:
    if cause == "setSecret-skipped":
        service.skipped_steps.add("setSecret")
    else:
        with postgres.connect_as_superuser() as admin:
            admin.run(f"CREATE ROLE {CLONE_USER} WITH NOLOGIN IN ROLE {APP_USER}")
    original_version = service.current_version()

    with pytest.raises(RotationFailed) as failure:
        service.rotate()

    steps = [invocation.step for invocation in service.invocations]
    assert "finishSecret" not in steps
    assert steps.count("testSecret") == 1 + SERVICE_RETRIES
    test_errors = [invocation.error for invocation in service.invocations if invocation.step == "testSecret"]
    assert all(isinstance(error, pg8000.exceptions.DatabaseError) and sqlstate(error).startswith("28")
               for error in test_errors), test_errors
    assert all(invocation.current_works for invocation in service.invocations)
    assert service.stages() == {original_version: ["AWSCURRENT"], failure.value.token: ["AWSPENDING"]}
    current = service.secret()
    assert (current["username"], current["password"]) == (APP_USER, users.app.password)
    assert can_log_in(postgres, users.app)


def capture_all_logs(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every record at every level, from every logger, reaches caplog; and the function's Powertools JSON output,
    bound to the stdout of import time, goes to the stdout that capsys captures now."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger=handler.logger.name)
    monkeypatch.setattr(handler.logger.logger_handler, "stream", sys.stdout)


def test_no_password_is_ever_logged(
    service: SecretsManagerService,
    postgres: PostgresServer,
    users: DatabaseUsers,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server_log_start = postgres.log_file.stat().st_size
    capture_all_logs(caplog, monkeypatch)
    fail_after_sql(monkeypatch, service, "setSecret", ("CREATE ROLE",))
    service.rotate()
    service.rotate()
    with postgres.connect_as_superuser() as admin:
        admin.run(f"ALTER ROLE {CLONE_USER} WITH NOLOGIN")
    with pytest.raises(RotationFailed):
        service.rotate()

    captured = capsys.readouterr()
    function_errors = [
        "".join(traceback.format_exception(type(invocation.error), invocation.error, invocation.error.__traceback__))
        for invocation in service.invocations
        if invocation.error
    ]
    logs = {
        "caplog": caplog.text + "\n".join(repr(vars(record)) for record in caplog.records),
        "stdout": captured.out,
        "stderr": captured.err,
        "errors the Lambda runtime would log": "\n".join(function_errors),
        "PostgreSQL server log": server_log_since(postgres, server_log_start),
    }
    assert len(function_errors) == 2 + SERVICE_RETRIES
    assert CLONE_USER in logs["stdout"] and "setSecret" in logs["stdout"], "the function's logs were not captured"
    assert "ALTER ROLE" in logs["PostgreSQL server log"], "the server did not log statements"
    passwords = service.all_passwords() | {users.master.password, users.app.password}
    assert len(passwords) == 5  # master, the original and three generated ones
    leaks = [(where, text.count(password)) for where, text in logs.items() for password in passwords
             if password in text]
    assert leaks == []


def test_the_server_refuses_plaintext_clients(postgres: PostgresServer, users: DatabaseUsers) -> None:
    with pytest.raises(pg8000.exceptions.DatabaseError) as refusal:
        pg8000.native.Connection(
            user=users.app.username, password=users.app.password, host=postgres.host, port=postgres.port,
            database=DATABASE, ssl_context=False,
        )
    assert sqlstate(refusal.value) == "28000"
    assert "no encryption" in str(refusal.value)


@contextmanager
def server_declining_tls() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP server that answers every TLS request with PostgreSQL's "N" (no TLS) and records everything each
    client sends until it hangs up."""
    received: list[bytes] = []
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except socket.timeout:
                continue
            with connection:
                connection.settimeout(5)
                data = connection.recv(len(SSL_REQUEST))
                connection.sendall(b"N")
                while chunk := connection.recv(4096):
                    data += chunk
            received.append(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], received
    finally:
        stop.set()
        thread.join(timeout=10)
        listener.close()


def test_the_function_never_falls_back_to_plaintext(
    aws: None, users: DatabaseUsers, postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_TLS_CA_FILE", str(postgres.ca_file))
    with server_declining_tls() as (port, received):
        service = start_service(monkeypatch, users, "127.0.0.1", port, check_current=None)
        original_version = service.current_version()
        with pytest.raises(RotationFailed):
            service.rotate()

    set_errors = [invocation.error for invocation in service.invocations if invocation.step == "setSecret"]
    assert len(set_errors) == 1 + SERVICE_RETRIES
    assert all(isinstance(error, pg8000.exceptions.InterfaceError) for error in set_errors), set_errors
    assert received, "the function never connected"
    assert set(received) == {SSL_REQUEST}, "after the server declined TLS the client sent more (plaintext startup)"
    assert "AWSCURRENT" in service.stages()[original_version]


def test_the_server_certificate_is_verified_against_the_configured_ca(
    service: SecretsManagerService, postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    other_ca = make_certificate_authority("not the database's CA").write(tmp_path / "other-ca.pem")
    monkeypatch.setenv("DB_TLS_CA_FILE", str(other_ca))
    original_version = service.current_version()

    with pytest.raises(RotationFailed):
        service.rotate()

    set_errors = [invocation.error for invocation in service.invocations if invocation.step == "setSecret"]
    assert set_errors and all(isinstance(error, ssl.SSLCertVerificationError) for error in set_errors), set_errors
    assert service.current_version() == original_version


def test_the_function_acts_only_on_the_pending_version_of_a_rotation(service: SecretsManagerService) -> None:
    def invoke(step: str, token: str) -> None:
        handler.lambda_handler({"SecretId": service.secret_id, "ClientRequestToken": token, "Step": step},
                               LAMBDA_CONTEXT)

    original_version = service.current_version()
    with pytest.raises(handler.RotationError, match="does not have rotation enabled"):
        invoke("createSecret", str(uuid.uuid4()))

    token = service.rotate()
    with pytest.raises(handler.RotationError, match="is not a version of secret"):
        invoke("createSecret", str(uuid.uuid4()))
    with pytest.raises(handler.RotationError, match="is not AWSPENDING"):
        invoke("setSecret", original_version)
    invoke("finishSecret", token)  # already AWSCURRENT: nothing to do
    assert service.stages() == {original_version: ["AWSPREVIOUS"], token: ["AWSCURRENT"]}


def test_without_a_ca_bundle_the_function_refuses_to_connect(
    aws: None, users: DatabaseUsers, postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = start_service(monkeypatch, users, postgres.host, postgres.port, check_current=None)
    monkeypatch.delenv("DB_TLS_CA_FILE", raising=False)
    assert not handler.SHIPPED_CA_BUNDLE.exists(), "the repository ships no CA bundle (certificates/README.md)"
    original_version = service.current_version()
    opened: list[str] = []
    monkeypatch.setattr(pg8000.native, "Connection", lambda *args, **kwargs: opened.append(kwargs["user"]))

    with pytest.raises(RotationFailed):
        service.rotate()

    set_errors = [invocation.error for invocation in service.invocations if invocation.step == "setSecret"]
    assert set_errors and all(isinstance(error, handler.RotationError) and "CA bundle" in str(error)
                              for error in set_errors), set_errors
    assert opened == [], "the function opened a connection without a CA to verify the server"
    assert service.current_version() == original_version
