"""A throwaway PostgreSQL server for tests that talk to a real database.

The server listens on 127.0.0.1 at a free port, speaks TLS only (its certificate is issued by a test CA made
here, the way RDS certificates are issued by the RDS CA), and authenticates with SCRAM-SHA-256: pg_hba.conf
rejects every `hostnossl` connection, so a plaintext client is refused before authentication.

PostgreSQL refuses to run as root, so when the tests run as root (CI does) initdb and pg_ctl run as the
`postgres` OS user in a directory that user owns.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pg8000.native
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVER_USER = "postgres"
LOOPBACK = "127.0.0.1"
DEFAULT_BINARY_DIR = Path("/usr/lib/postgresql/15/bin")

PG_HBA = f"""\
# TYPE    DATABASE  USER  ADDRESS       METHOD
hostnossl all       all   0.0.0.0/0     reject
hostnossl all       all   ::/0          reject
hostssl   all       all   {LOOPBACK}/32  scram-sha-256
"""


@dataclass(frozen=True)
class CertificateAuthority:
    certificate_pem: bytes
    private_key: ec.EllipticCurvePrivateKey

    def write(self, path: Path) -> Path:
        path.write_bytes(self.certificate_pem)
        return path


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    ca_file: Path
    superuser: str
    superuser_password: str
    log_file: Path

    def connect(self, user: str, password: str, database: str = "postgres") -> pg8000.native.Connection:
        """A verified TLS connection (chain and host name checked against the test CA)."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        return pg8000.native.Connection(
            user=user, password=password, host=self.host, port=self.port, database=database, ssl_context=context
        )

    def connect_as_superuser(self, database: str = "postgres") -> pg8000.native.Connection:
        return self.connect(self.superuser, self.superuser_password, database)


def make_certificate_authority(common_name: str) -> CertificateAuthority:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertificateAuthority(certificate.public_bytes(serialization.Encoding.PEM), key)


def issue_server_certificate(authority: CertificateAuthority, host: str) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) for `host`, an IP address, signed by `authority`."""
    issuer = x509.load_pem_x509_certificate(authority.certificate_pem)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(key_cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(authority.private_key.public_key()), critical=False
        )
        .sign(authority.private_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


def _key_usage(*, key_cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=key_cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _binary(name: str) -> str:
    return shutil.which(name) or str(DEFAULT_BINARY_DIR / name)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def _as_server_user(*command: str) -> list[str]:
    return ["runuser", "-u", SERVER_USER, "--", *command] if os.geteuid() == 0 else list(command)


def _give_to_server_user(*paths: Path) -> None:
    if os.geteuid() == 0:
        for path in paths:
            shutil.chown(path, SERVER_USER, SERVER_USER)


def _run(command: list[str]) -> None:
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        output = completed.stdout + completed.stderr
        raise RuntimeError(f"{' '.join(command)} failed with exit code {completed.returncode}:\n{output}")


@contextmanager
def running_postgres(settings: dict[str, str] | None = None) -> Iterator[PostgresServer]:
    """Start a TLS-only PostgreSQL server; always stop it and delete its files, even when setup fails.
    `settings` are extra postgresql.conf lines, e.g. {"log_statement": "'all'"}."""
    workdir = Path(tempfile.mkdtemp(prefix="pg-test-"))
    data_dir = workdir / "data"
    log_file = workdir / "server.log"
    start_attempted = False
    try:
        workdir.chmod(0o755)
        _give_to_server_user(workdir)
        superuser_password = secrets.token_urlsafe(24)
        password_file = workdir / "superuser-password"
        password_file.write_text(superuser_password)
        password_file.chmod(0o600)
        _give_to_server_user(password_file)
        _run(
            _as_server_user(
                _binary("initdb"), "--pgdata", str(data_dir), "--username", SERVER_USER, "--auth", "scram-sha-256",
                "--pwfile", str(password_file), "--encoding", "UTF8", "--no-locale", "--no-sync",
            )
        )
        password_file.unlink()

        authority = make_certificate_authority("payments test CA")
        ca_file = authority.write(workdir / "ca.pem")
        certificate_pem, key_pem = issue_server_certificate(authority, LOOPBACK)
        certificate_file, key_file = data_dir / "server.crt", data_dir / "server.key"
        certificate_file.write_bytes(certificate_pem)
        key_file.write_bytes(key_pem)
        # PostgreSQL refuses a private key that its owner does not own or that others can read.
        key_file.chmod(0o600)
        _give_to_server_user(certificate_file, key_file)

        port = _free_port()
        with (data_dir / "postgresql.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = '{LOOPBACK}'\nport = {port}\nunix_socket_directories = '{workdir}'\n"
                "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n"
                "ssl_min_protocol_version = 'TLSv1.2'\npassword_encryption = 'scram-sha-256'\n"
                "fsync = off\nfull_page_writes = off\nshared_buffers = 16MB\nmax_connections = 40\n"
            )
            conf.writelines(f"{name} = {value}\n" for name, value in (settings or {}).items())
        (data_dir / "pg_hba.conf").write_text(PG_HBA)

        start_attempted = True
        _run(_as_server_user(_binary("pg_ctl"), "--pgdata", str(data_dir), "--log", str(log_file), "-w", "-t", "30",
                             "start"))
        yield PostgresServer(LOOPBACK, port, ca_file, SERVER_USER, superuser_password, log_file)
    finally:
        if start_attempted:
            subprocess.run(
                _as_server_user(_binary("pg_ctl"), "--pgdata", str(data_dir), "-m", "immediate", "-w", "stop"),
                capture_output=True, check=False,
            )
        shutil.rmtree(workdir, ignore_errors=True)
