"""Secrets Manager rotation function for the Aurora PostgreSQL application user (alternating users).

The application secret holds `{"engine": "postgres", "host", "port", "dbname", "username", "password",
"ssl": true, "masterarn"}`; `masterarn` names the RDS-managed master user secret, which holds only
`{"username", "password"}`, so host, port and database always come from the application secret.

Each rotation switches the application secret between `<user>` and `<user>_clone` with a fresh password, so
the credential that clients hold keeps working while the other user's password changes (alternating users).
Secrets Manager calls the four steps in order with the same ClientRequestToken and retries the whole
sequence when one fails, so every step is idempotent and safe to re-run after a crash at any point:

- createSecret stores the new credential as the AWSPENDING version, unless that version already has a value;
- setSecret, as the master user, sets that password in PostgreSQL (creating `<user>_clone` the first time),
  unless the pending credential can already log in;
- testSecret logs in with the pending credential;
- finishSecret moves AWSCURRENT to the pending version (Secrets Manager moves AWSPREVIOUS along).

Database connections always use TLS, never fall back to plaintext, and always authenticate the server: its
certificate is verified against the RDS CA bundle shipped in the package as `rds-ca-bundle.pem` (see
data.aurora.ca_bundle_file; `DB_TLS_CA_FILE` names another bundle), host name included. Without a readable
bundle the function refuses to connect: the master password must never reach a server that has not proven it
is the cluster.

Passwords are never logged: log lines carry usernames, steps and version ids only. PostgreSQL receives a
SCRAM-SHA-256 verifier instead of the password itself, so statement logging (log_statement, pgaudit) on the
cluster cannot record a usable password either.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import os
import ssl
from pathlib import Path
from typing import Any

import boto3
import pg8000.native
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from pg8000.exceptions import DatabaseError
from scramp import ScramMechanism

logger = Logger(service="secret-rotation")

# botocore's DEBUG records include request and response bodies, i.e. SecretString: a DEBUG log level for the
# function (AWS_LAMBDA_LOG_LEVEL) must not turn them on.
logging.getLogger("botocore").setLevel(logging.INFO)

# The RDS CA bundle the synth ships at the package root (app/components/rotated_secret.py); DB_TLS_CA_FILE
# names another bundle (the tests' own CA).
SHIPPED_CA_BUNDLE = Path(__file__).resolve().parent / "rds-ca-bundle.pem"
CLONE_SUFFIX = "_clone"
PASSWORD_LENGTH = 32
# Characters with a meaning in a libpq keyword/value connection string or a postgres:// URI.
PASSWORD_EXCLUDED_CHARACTERS = "/@\"'\\:?#%&=+[]{}"
CONNECT_TIMEOUT_SECONDS = 10
REQUIRED_SECRET_FIELDS = ("engine", "host", "port", "dbname", "username", "password", "masterarn")


class RotationError(Exception):
    """The secret or the database is not in a state this rotation can safely proceed from."""


@functools.cache
def secrets_manager() -> Any:
    """One client per execution environment, created on first use: tests start their AWS emulator first and
    call `secrets_manager.cache_clear()`. The standard AWS_ENDPOINT_URL(_SECRETS_MANAGER) variables apply."""
    return boto3.client(
        "secretsmanager",
        config=Config(connect_timeout=5, read_timeout=10, retries={"mode": "standard", "max_attempts": 3}),
    )


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, str], context: LambdaContext) -> None:
    secret_id, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    logger.append_keys(secret_id=secret_id, version_id=token, step=step)
    run_step = STEPS.get(step)
    if run_step is None:
        raise RotationError(f"unknown rotation step {step!r}")

    metadata = secrets_manager().describe_secret(SecretId=secret_id)
    if not metadata.get("RotationEnabled"):
        raise RotationError(f"secret {secret_id} does not have rotation enabled")
    stages_by_version = metadata.get("VersionIdsToStages", {})
    if token not in stages_by_version:
        raise RotationError(f"version {token} is not a version of secret {secret_id}")
    if "AWSCURRENT" in stages_by_version[token]:
        logger.info("version is already AWSCURRENT: nothing to do")
        return
    if "AWSPENDING" not in stages_by_version[token]:
        raise RotationError(f"version {token} of secret {secret_id} is not AWSPENDING")
    run_step(secret_id, token)


def create_secret(secret_id: str, token: str) -> None:
    current = get_secret(secret_id, stage="AWSCURRENT")
    try:
        get_secret(secret_id, stage="AWSPENDING", version_id=token)
        logger.info("AWSPENDING version already has a value: keeping it")
        return
    except secrets_manager().exceptions.ResourceNotFoundException:
        pass

    password = secrets_manager().get_random_password(
        PasswordLength=PASSWORD_LENGTH,
        ExcludeCharacters=PASSWORD_EXCLUDED_CHARACTERS,
        IncludeSpace=False,
        RequireEachIncludedType=True,
    )["RandomPassword"]
    pending = {**current, "username": alternate_username(current["username"]), "password": password}
    secrets_manager().put_secret_value(
        SecretId=secret_id, ClientRequestToken=token, SecretString=json.dumps(pending), VersionStages=["AWSPENDING"]
    )
    logger.info("stored the AWSPENDING version", extra={"username": pending["username"]})


def set_secret(secret_id: str, token: str) -> None:
    current = get_secret(secret_id, stage="AWSCURRENT")
    pending = get_secret(secret_id, stage="AWSPENDING", version_id=token)
    _require_same_database(current, pending)
    if _can_log_in(current, pending["username"], pending["password"]):
        logger.info("the AWSPENDING credential already works: nothing to set", extra={"username": pending["username"]})
        return

    master = json.loads(
        secrets_manager().get_secret_value(SecretId=current["masterarn"], VersionStage="AWSCURRENT")["SecretString"]
    )
    verifier = scram_sha_256_verifier(pending["password"])
    with connect(current, master["username"], master["password"]) as connection:
        role_exists = bool(
            connection.run("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = :role", role=pending["username"])
        )
        if role_exists:
            statement = format_sql(connection, "ALTER ROLE %I WITH PASSWORD %L", pending["username"], verifier)
        else:
            statement = _create_clone_statement(connection, pending["username"], verifier)
        connection.run(statement)
    logger.info(
        "set the AWSPENDING password in the database",
        extra={"username": pending["username"], "master_username": master["username"], "role_created": not role_exists},
    )


def test_secret(secret_id: str, token: str) -> None:
    current = get_secret(secret_id, stage="AWSCURRENT")
    pending = get_secret(secret_id, stage="AWSPENDING", version_id=token)
    _require_same_database(current, pending)
    with connect(current, pending["username"], pending["password"]) as connection:
        connection.run("SELECT 1")
    logger.info("the AWSPENDING credential logs in", extra={"username": pending["username"]})


def finish_secret(secret_id: str, token: str) -> None:
    stages_by_version = secrets_manager().describe_secret(SecretId=secret_id)["VersionIdsToStages"]
    current_version = next(version for version, stages in stages_by_version.items() if "AWSCURRENT" in stages)
    secrets_manager().update_secret_version_stage(
        SecretId=secret_id, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=current_version
    )
    # AWS accepts AWSPENDING left on the new AWSCURRENT version; removing it leaves no doubt, for the next
    # RotateSecret or a reader, that no rotation is in progress.
    secrets_manager().update_secret_version_stage(
        SecretId=secret_id, VersionStage="AWSPENDING", RemoveFromVersionId=token
    )
    logger.info("moved AWSCURRENT to the new version", extra={"previous_version_id": current_version})


STEPS = {
    "createSecret": create_secret,
    "setSecret": set_secret,
    "testSecret": test_secret,
    "finishSecret": finish_secret,
}


def get_secret(secret_id: str, stage: str, version_id: str | None = None) -> dict[str, Any]:
    request = {"SecretId": secret_id, "VersionStage": stage}
    if version_id is not None:
        request["VersionId"] = version_id
    secret = json.loads(secrets_manager().get_secret_value(**request)["SecretString"])
    missing = [field for field in REQUIRED_SECRET_FIELDS if field not in secret]
    if missing:
        raise RotationError(f"the {stage} version of secret {secret_id} lacks {missing}")
    if secret["engine"] != "postgres":
        raise RotationError(f"secret {secret_id} is for engine {secret['engine']!r}, not postgres")
    return secret


def alternate_username(username: str) -> str:
    if username.endswith(CLONE_SUFFIX):
        return username[: -len(CLONE_SUFFIX)]
    return username + CLONE_SUFFIX


def _require_same_database(current: dict[str, Any], pending: dict[str, Any]) -> None:
    """setSecret hands the master credentials to the server named in AWSCURRENT, and finishSecret publishes
    AWSPENDING to every client: a pending version pointing elsewhere must stop the rotation."""
    for field in ("host", "port", "dbname", "masterarn"):
        if current[field] != pending[field]:
            raise RotationError(f"AWSPENDING and AWSCURRENT differ in {field!r}")
    if pending["username"] != alternate_username(current["username"]):
        raise RotationError(
            f"AWSPENDING user {pending['username']!r} is not the alternate of AWSCURRENT user {current['username']!r}"
        )


def _tls_context() -> ssl.SSLContext:
    ca_file = os.environ.get("DB_TLS_CA_FILE") or str(SHIPPED_CA_BUNDLE)
    if not os.path.isfile(ca_file):
        raise RotationError(
            f"CA bundle {ca_file} not found: ship the RDS CA bundle in the package (data.aurora.ca_bundle_file, "
            "see certificates/README.md) so that the database server can be verified"
        )
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def connect(database: dict[str, Any], username: str, password: str) -> pg8000.native.Connection:
    # An SSLContext (never None, which pg8000 treats as "TLS if the server offers it") makes pg8000 fail
    # when the server declines TLS instead of continuing in plaintext.
    return pg8000.native.Connection(
        user=username,
        password=password,
        host=database["host"],
        port=int(database["port"]),
        database=database["dbname"],
        ssl_context=_tls_context(),
        timeout=CONNECT_TIMEOUT_SECONDS,
        application_name="secret-rotation",
    )


def _can_log_in(database: dict[str, Any], username: str, password: str) -> bool:
    try:
        connect(database, username, password).close()
    except DatabaseError as error:
        # Only an authentication refusal (SQLSTATE class 28) answers the question; anything else, such as a
        # network or TLS failure, would hit the master connection too and must fail the step.
        if _sqlstate(error).startswith("28"):
            return False
        raise
    return True


def _sqlstate(error: DatabaseError) -> str:
    fields = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
    return fields.get("C", "")


def _create_clone_statement(connection: pg8000.native.Connection, clone: str, verifier: str) -> str:
    if not clone.endswith(CLONE_SUFFIX):
        raise RotationError(f"role {clone!r} does not exist, and only the {CLONE_SUFFIX} user is created here")
    # The clone is made a member of the original user instead of copying that user's grants and role
    # memberships: everything granted to the original user, now or later, reaches the clone by inheritance,
    # so the two users cannot drift apart and a rotation cannot switch clients to a user missing a privilege.
    # One statement creates the role, sets its password and grants the membership, so a crash cannot leave a
    # clone that logs in without its privileges (which setSecret's "pending already works" check would keep).
    template = "CREATE ROLE %I WITH LOGIN INHERIT PASSWORD %L IN ROLE %I"
    return format_sql(connection, template, clone, verifier, alternate_username(clone))


def format_sql(connection: pg8000.native.Connection, template: str, *values: str) -> str:
    """Render DDL server-side with format(): %I quotes identifiers and %L literals exactly as the server
    parses them. DDL takes no bind parameters, so the values travel as parameters of this SELECT instead."""
    parameters = {f"value{index}": value for index, value in enumerate(values)}
    placeholders = "".join(f", CAST(:{name} AS text)" for name in parameters)
    rows = connection.run(f"SELECT format(CAST(:template AS text){placeholders})", template=template, **parameters)
    return rows[0][0]


def scram_sha_256_verifier(password: str) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `password`; given in CREATE/ALTER ROLE ... PASSWORD,
    the server stores it as is, so the plaintext never reaches the server or its statement log."""
    salt, stored_key, server_key, iterations = ScramMechanism("SCRAM-SHA-256").make_auth_info(password)

    def encode(value: bytes) -> str:
        return base64.b64encode(value).decode("ascii")

    return f"SCRAM-SHA-256${iterations}:{encode(salt)}${encode(stored_key)}:{encode(server_key)}"
