"""The database bootstrap (lambda_src/secret_rotation/bootstrap.py) against a real PostgreSQL 15 server set up
the way RDS leaves a new Aurora cluster: a master user that may create roles but is no superuser, owning the
application database; no application user. Secrets Manager is moto, and rotation runs the real rotation
function through tests/test_secret_rotation.py's emulation of the service.

The path the issue describes: bootstrap twice, then rotate, then connect as the rotated user."""

from __future__ import annotations

import importlib.util
import json
import secrets
import ssl
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import boto3
import pg8000.exceptions
import pytest

from lambda_src.secret_rotation import handler as rotation_handler
from tests.postgres_server import PostgresServer, make_certificate_authority, running_postgres
from tests.test_secret_rotation import (
    LAMBDA_CONTEXT,
    Credential,
    DatabaseUsers,
    aws,  # noqa: F401  (fixture: moto with a docker-less Lambda)
    sqlstate,
    start_service,
)

SOURCE_DIR = Path(__file__).resolve().parent.parent / "lambda_src" / "secret_rotation"
DATABASE = "payments"
MASTER = "payments_admin"
APP_USER = "payments_app"
DMS_USER = "payments_dms"
CONTROL_SCHEMA = "awsdms_control"
INSUFFICIENT_PRIVILEGE = "42501"


def load_bootstrap() -> ModuleType:
    """Import bootstrap.py as Lambda does (its directory is the zip root, so `handler` is a top-level module),
    without leaving that top-level `handler` behind for other tests."""
    saved = sys.modules.pop("handler", None)
    sys.path.insert(0, str(SOURCE_DIR))
    try:
        spec = importlib.util.spec_from_file_location("db_bootstrap_under_test", SOURCE_DIR / "bootstrap.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SOURCE_DIR))
        sys.modules.pop("handler", None)
        if saved is not None:
            sys.modules["handler"] = saved
    return module


@pytest.fixture(scope="module")
def bootstrap_module() -> ModuleType:
    return load_bootstrap()


@pytest.fixture(scope="module")
def postgres() -> Iterator[tuple[PostgresServer, Credential]]:
    master = Credential(MASTER, secrets.token_urlsafe(24))
    with running_postgres(settings={"log_statement": "'all'"}) as server:
        with server.connect_as_superuser() as admin:
            # What RDS creates: the master user (role management, no superuser) owning the initial database.
            admin.run(f"CREATE ROLE {MASTER} WITH LOGIN CREATEROLE PASSWORD '{master.password}'")
            admin.run(f"CREATE DATABASE {DATABASE} OWNER {MASTER}")
        with server.connect(MASTER, master.password, DATABASE) as connection:
            connection.run("CREATE TABLE ledger (id serial PRIMARY KEY, amount_cents bigint NOT NULL)")
            connection.run("INSERT INTO ledger (amount_cents) VALUES (1250)")
        yield server, master


@pytest.fixture
def secrets_env(aws, postgres, bootstrap_module, monkeypatch):  # noqa: F811
    server, master = postgres
    reset_roles(server)
    monkeypatch.setenv("DB_TLS_CA_FILE", str(server.ca_file))
    bootstrap_module.secrets_manager.cache_clear()
    app = Credential(APP_USER, secrets.token_urlsafe(24))
    service = start_service(monkeypatch, DatabaseUsers(master=master, app=app), server.host, server.port, None)
    app_secret = service.secret()
    dms = Credential(DMS_USER, secrets.token_urlsafe(24))
    dms_arn = boto3.client("secretsmanager").create_secret(
        Name="payments/test/aurora/payments_dms",
        SecretString=json.dumps({**app_secret, "username": dms.username, "password": dms.password}),
    )["ARN"]
    yield service, app, dms, dms_arn
    bootstrap_module.secrets_manager.cache_clear()


def role_exists(connection, role: str) -> bool:
    return bool(connection.run("SELECT 1 FROM pg_roles WHERE rolname = :role", role=role))


def reset_roles(server: PostgresServer) -> None:
    """Every test starts from the cluster as RDS created it (no roles of ours, default privileges)."""
    with server.connect_as_superuser(DATABASE) as admin:
        for role in (f"{APP_USER}_clone", APP_USER, f"{DMS_USER}_clone", DMS_USER, "payments_rw",
                     "payments_migration"):
            if role_exists(admin, role):
                admin.run(f"DROP OWNED BY {role} CASCADE")
                admin.run(f"DROP ROLE {role}")
        admin.run(f"DROP SCHEMA IF EXISTS {CONTROL_SCHEMA} CASCADE")
        admin.run(f"GRANT CONNECT ON DATABASE {DATABASE} TO PUBLIC")


def denied(server: PostgresServer, credential: Credential, sql: str, database: str = DATABASE) -> bool:
    try:
        with server.connect(credential.username, credential.password, database) as connection:
            connection.run(sql)
    except pg8000.exceptions.DatabaseError as error:
        assert sqlstate(error) == INSUFFICIENT_PRIVILEGE, error
        return True
    return False


def test_bootstrap_twice_then_rotate_then_connect_as_the_rotated_user(
    secrets_env, postgres, bootstrap_module
) -> None:
    server, _ = postgres
    service, app, dms, dms_arn = secrets_env

    first = bootstrap_module.bootstrap(service.secret_id, dms_arn, CONTROL_SCHEMA)
    second = bootstrap_module.bootstrap(service.secret_id, dms_arn, CONTROL_SCHEMA)

    assert sorted(first["created_roles"]) == sorted(["payments_rw", APP_USER, "payments_migration", DMS_USER])
    assert second["created_roles"] == [], "a second bootstrap must change nothing"
    # Least privilege: the application user reads and writes rows, and nothing else.
    with server.connect(app.username, app.password, DATABASE) as connection:
        connection.run("INSERT INTO ledger (amount_cents) VALUES (99)")
        assert connection.run("SELECT count(*) FROM ledger")[0][0] >= 2
    assert denied(server, app, "CREATE TABLE app_made (id int)")
    assert denied(server, app, "TRUNCATE ledger")
    with server.connect(app.username, app.password, DATABASE) as connection:
        flags = connection.run(
            "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = :role", role=APP_USER
        )
    assert flags == [[False, False, False]]
    # The DMS user writes rows and its control tables, in its own schema only.
    with server.connect(dms.username, dms.password, DATABASE) as connection:
        connection.run(f"CREATE TABLE {CONTROL_SCHEMA}.awsdms_apply_exceptions (task_name text)")
        connection.run("UPDATE ledger SET amount_cents = amount_cents WHERE id = 1")
    assert denied(server, dms, "CREATE TABLE public.dms_made (id int)")
    # PUBLIC lost CONNECT: a login role nobody granted anything cannot reach the database.
    stranger = Credential("payments_stranger", secrets.token_urlsafe(24))
    with server.connect_as_superuser() as admin:
        admin.run(f"DROP ROLE IF EXISTS {stranger.username}")
        admin.run(f"CREATE ROLE {stranger.username} LOGIN PASSWORD '{stranger.password}'")
    assert denied(server, stranger, "SELECT 1")
    # Tables the master creates later are reachable without another bootstrap (default privileges).
    with server.connect(MASTER, postgres[1].password, DATABASE) as connection:
        connection.run("CREATE TABLE IF NOT EXISTS refunds (id serial PRIMARY KEY)")
    with server.connect(app.username, app.password, DATABASE) as connection:
        connection.run("INSERT INTO refunds DEFAULT VALUES")

    service.rotate()

    rotated = service.secret()
    assert rotated["username"] == f"{APP_USER}_clone" and rotated["password"] != app.password
    with server.connect(rotated["username"], rotated["password"], DATABASE) as connection:
        connection.run("INSERT INTO ledger (amount_cents) VALUES (7)")
        assert connection.run("SELECT count(*) FROM refunds")[0][0] == 1
    third = bootstrap_module.bootstrap(service.secret_id, dms_arn, CONTROL_SCHEMA)
    assert third["created_roles"] == []
    # The bootstrap never touches a password rotation owns: both alternating credentials still work.
    for credential in (app, Credential(rotated["username"], rotated["password"])):
        with server.connect(credential.username, credential.password, DATABASE) as connection:
            connection.run("SELECT 1 FROM ledger LIMIT 1")
    log = server.log_file.read_text(errors="replace")
    assert "CREATE ROLE" in log and all(p not in log for p in (app.password, dms.password, rotated["password"]))


def test_bootstrap_refuses_a_server_its_ca_does_not_vouch_for(
    secrets_env, postgres, bootstrap_module, monkeypatch, tmp_path
) -> None:
    server, _ = postgres
    service, _, _, _ = secrets_env
    monkeypatch.setenv("DB_TLS_CA_FILE", str(make_certificate_authority("not RDS").write(tmp_path / "ca.pem")))

    with pytest.raises(ssl.SSLCertVerificationError):
        bootstrap_module.bootstrap(service.secret_id)

    with server.connect_as_superuser() as admin:
        assert not role_exists(admin, APP_USER)


def test_without_a_ca_bundle_nothing_connects(secrets_env, postgres, bootstrap_module, monkeypatch) -> None:
    server, _ = postgres
    service, _, _, _ = secrets_env
    monkeypatch.delenv("DB_TLS_CA_FILE")
    assert not rotation_handler.SHIPPED_CA_BUNDLE.exists()
    offset = server.log_file.stat().st_size

    with pytest.raises(Exception, match=r"CA bundle .* not found"):
        bootstrap_module.bootstrap(service.secret_id)

    assert "connection received" not in server.log_file.read_bytes()[offset:].decode(errors="replace")


def test_the_event_must_name_the_application_secret(bootstrap_module) -> None:
    with pytest.raises(bootstrap_module.BootstrapError, match="app_secret_arn"):
        bootstrap_module.lambda_handler({}, LAMBDA_CONTEXT)
    with pytest.raises(bootstrap_module.BootstrapError, match="go together"):
        bootstrap_module.lambda_handler({"app_secret_arn": "x", "migration_secret_arn": "y"}, LAMBDA_CONTEXT)


def test_names_from_secrets_are_quoted_never_executed(secrets_env, postgres, bootstrap_module) -> None:
    server, _ = postgres
    service, _, _, _ = secrets_env
    hostile = 'mallory"; DROP TABLE ledger; --'
    client = boto3.client("secretsmanager")
    client.put_secret_value(SecretId=service.secret_id, SecretString=json.dumps({**service.secret(),
                                                                               "username": hostile}))

    created = bootstrap_module.bootstrap(service.secret_id)["created_roles"]

    assert hostile in created
    with server.connect_as_superuser(DATABASE) as admin:
        assert role_exists(admin, hostile)
        assert admin.run("SELECT count(*) FROM ledger")[0][0] >= 1
        admin.run('DROP OWNED BY "mallory""; DROP TABLE ledger; --"')
        admin.run('DROP ROLE "mallory""; DROP TABLE ledger; --"')
