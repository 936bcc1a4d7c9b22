"""Database bootstrap: creates, as the RDS master user, the roles and schema privileges the platform needs in
the Aurora database, so that the first rotation (which creates `<user>_clone IN ROLE <user>`) has a user to
alternate with. Terraform invokes it at apply (aws_lambda_invocation) before rotation is turned on, and again
whenever its input changes; every run converges to the same state, so running it twice changes nothing.

Event: `{"app_secret_arn": ..., "migration_secret_arn": ... | null, "migration_control_schema": ... | null}`;
host, port, database and the master secret come from the application secret (the same fields rotation uses).

What it grants (least privilege; the master user owns every schema object):
- `payments_rw` (NOLOGIN): CONNECT on the database, USAGE on schema public, SELECT/INSERT/UPDATE/DELETE on its
  tables and USAGE/SELECT on its sequences, now and (default privileges) for tables the master creates later.
  The application user is a member; its rotation clone inherits through it. No DDL, no TRUNCATE.
- `payments_migration` (NOLOGIN), only while the DMS migration is on: the same table privileges plus USAGE and
  CREATE on the DMS control schema (the task's ControlSchema) for its control tables. The DMS user is a member.
- PUBLIC loses CONNECT on the database and CREATE on schema public.

A login user that does not exist yet is created with the password of the secret version that names it
(AWSCURRENT before the first rotation). An existing user's password is never touched: rotation owns it.
Passwords reach PostgreSQL only as SCRAM-SHA-256 verifiers and are never logged.
"""

from __future__ import annotations

import json
from typing import Any

import pg8000.native
from aws_lambda_powertools.utilities.typing import LambdaContext
from handler import (
    CLONE_SUFFIX,
    alternate_username,
    connect,
    format_sql,
    get_secret,
    logger,
    scram_sha_256_verifier,
    secrets_manager,
)

APP_GROUP = "payments_rw"
MIGRATION_GROUP = "payments_migration"
APP_SCHEMA = "public"
TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"


class BootstrapError(Exception):
    """The input or the database is not in a state the bootstrap can converge from."""


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    app_secret_arn = event.get("app_secret_arn")
    if not isinstance(app_secret_arn, str) or not app_secret_arn:
        raise BootstrapError("the event must name app_secret_arn (the application user's secret)")
    migration_secret_arn = event.get("migration_secret_arn")
    control_schema = event.get("migration_control_schema")
    if bool(migration_secret_arn) != bool(control_schema):
        raise BootstrapError("migration_secret_arn and migration_control_schema go together")
    return bootstrap(app_secret_arn, migration_secret_arn, control_schema)


def bootstrap(
    app_secret_arn: str, migration_secret_arn: str | None = None, control_schema: str | None = None
) -> dict[str, Any]:
    database = get_secret(app_secret_arn, stage="AWSCURRENT")
    logins = {APP_GROUP: _login(app_secret_arn)}
    if migration_secret_arn:
        migration = get_secret(migration_secret_arn, stage="AWSCURRENT")
        for field in ("host", "port", "dbname", "masterarn"):
            if migration[field] != database[field]:
                raise BootstrapError(f"the migration secret and the application secret differ in {field!r}")
        logins[MIGRATION_GROUP] = _login(migration_secret_arn)
    master = secrets_manager().get_secret_value(SecretId=database["masterarn"], VersionStage="AWSCURRENT")
    master_credentials = _master_credentials(master["SecretString"])

    created: list[str] = []
    with connect(database, *master_credentials) as connection:
        connection.run("BEGIN")
        try:
            created = _converge(connection, database["dbname"], master_credentials[0], logins, control_schema)
            connection.run("COMMIT")
        except Exception:
            connection.run("ROLLBACK")
            raise
    logger.info("database bootstrapped", extra={"created_roles": created, "groups": sorted(logins)})
    return {"database": database["dbname"], "created_roles": created, "groups": sorted(logins)}


def _master_credentials(secret_string: str) -> tuple[str, str]:
    master = json.loads(secret_string)
    return master["username"], master["password"]


def _login(secret_arn: str) -> tuple[str, str | None]:
    """(base user name, the password of the secret version naming that user, or None if no version does)."""
    current = get_secret(secret_arn, stage="AWSCURRENT")
    base = current["username"]
    if base.endswith(CLONE_SUFFIX):
        base = alternate_username(base)
    for stage in ("AWSCURRENT", "AWSPREVIOUS"):
        try:
            version = current if stage == "AWSCURRENT" else get_secret(secret_arn, stage=stage)
        except secrets_manager().exceptions.ResourceNotFoundException:
            continue
        if version["username"] == base:
            return base, version["password"]
    return base, None


def _converge(
    connection: pg8000.native.Connection,
    dbname: str,
    master: str,
    logins: dict[str, tuple[str, str | None]],
    control_schema: str | None,
) -> list[str]:
    created = []

    def run(template: str, *values: str) -> None:
        connection.run(format_sql(connection, template, *values))

    def role_exists(name: str) -> bool:
        return bool(connection.run("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = :name", name=name))

    run("REVOKE ALL ON DATABASE %I FROM PUBLIC", dbname)
    run("REVOKE CREATE ON SCHEMA %I FROM PUBLIC", APP_SCHEMA)
    for group, (user, password) in logins.items():
        if not role_exists(group):
            run("CREATE ROLE %I WITH NOLOGIN", group)
            created.append(group)
        run("GRANT CONNECT ON DATABASE %I TO %I", dbname, group)
        run("GRANT USAGE ON SCHEMA %I TO %I", APP_SCHEMA, group)
        run(f"GRANT {TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA %I TO %I", APP_SCHEMA, group)
        run("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I", APP_SCHEMA, group)
        run(f"ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT {TABLE_PRIVILEGES} ON TABLES TO %I",
            master, APP_SCHEMA, group)
        run("ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO %I",
            master, APP_SCHEMA, group)
        if not role_exists(user):
            if password is None:
                logger.warning("no secret version names the user: created without a password until the next "
                               "rotation sets one", extra={"username": user})
                run("CREATE ROLE %I WITH LOGIN INHERIT IN ROLE %I", user, group)
            else:
                run("CREATE ROLE %I WITH LOGIN INHERIT PASSWORD %L IN ROLE %I", user,
                    scram_sha_256_verifier(password), group)
            created.append(user)
        else:
            run("GRANT %I TO %I", group, user)
    if control_schema:
        # Owned by the master like every schema object; DMS creates its control tables here as its own user.
        run("CREATE SCHEMA IF NOT EXISTS %I", control_schema)
        run("REVOKE ALL ON SCHEMA %I FROM PUBLIC", control_schema)
        run("GRANT USAGE, CREATE ON SCHEMA %I TO %I", control_schema, MIGRATION_GROUP)
    return created
