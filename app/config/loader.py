"""Loading an environment: read the file (bounded, UTF-8), parse it with the policy core's strict YAML loader,
run every section validator and raise :class:`ConfigError` with all problems at once, or build the model.

Nothing here imports cdktf or the provider bindings: config errors are reported in a fraction of a second."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from app.config.model import EnvironmentConfig
from app.config.reader import ConfigError, FieldReader
from app.config.thresholds import KNOWN_ENVIRONMENTS, PciThresholds, default_thresholds
from app.config.validators.account import validate_account
from app.config.validators.api import validate_api
from app.config.validators.backend import LOCAL_STATE_ENVIRONMENTS, validate_backend
from app.config.validators.baseline import validate_baseline
from app.config.validators.compute import validate_compute
from app.config.validators.data import validate_data
from app.config.validators.kms import validate_kms
from app.config.validators.logging import validate_logging
from app.config.validators.monitoring import validate_monitoring
from app.config.validators.network import validate_network
from app.config.validators.placement import validate_environment_name, validate_placement
from app.config.validators.runtime import validate_runtime
from app.config.validators.tags import validate_tags
from policies.yamlfile import YamlFileError, parse_yaml, read_text

ENVIRONMENTS_DIR = Path(__file__).resolve().parent.parent / "environments"
MAX_CONFIG_BYTES = 256 * 1024  # an environment file is ~6 KB
SECTIONS = (
    "environment",
    "region",
    "availability_zones",
    "tags",
    "backend",
    "network",
    "logging",
    "kms",
    "data",
    "runtime",
    "compute",
    "api",
    "monitoring",
    "baseline",
)
OPTIONAL_SECTIONS = ("account",)

_Section = TypeVar("_Section")


def _accepted(section: _Section | None, name: str) -> _Section:
    """A section a validator accepted: with no problem recorded, every validator returned its model."""
    if section is None:
        raise RuntimeError(f"the {name} validator returned nothing yet recorded no problem")
    return section


def parse_environment(source: Path, text: str, *, thresholds: PciThresholds | None = None) -> EnvironmentConfig:
    """Validate one environment document against the catalog's thresholds (``thresholds`` defaults to the
    committed catalog's); raises ConfigError listing every invalid field."""
    try:
        raw = parse_yaml(source, text)
    except YamlFileError as error:
        raise ConfigError([str(error)]) from None
    reader = FieldReader(source, thresholds or default_thresholds())
    data = reader.mapping(raw, "", SECTIONS, optional=OPTIONAL_SECTIONS)

    environment = validate_environment_name(reader, data, source)
    placement = validate_placement(reader, data, environment)
    tags = validate_tags(reader, data.get("tags", {}), environment)
    backend = validate_backend(reader, data.get("backend", {}))
    if backend is not None and backend.type == "local" and environment not in (None, *LOCAL_STATE_ENVIRONMENTS):
        reader.problem(
            "backend.type", "local", f"s3 for {environment}: remote, encrypted, locked state (local is for dev only)"
        )
    network = validate_network(reader, data.get("network", {}), "network")
    logging = validate_logging(reader, data.get("logging", {}))
    kms = validate_kms(reader, data.get("kms", {}))
    data_config = validate_data(reader, data.get("data", {}), environment)
    runtime = validate_runtime(reader, data.get("runtime", {}))
    compute = validate_compute(reader, data.get("compute", {}))
    api = validate_api(reader, data.get("api", {}))
    monitoring = validate_monitoring(reader, data.get("monitoring", {}))
    account = validate_account(reader, data["account"]) if "account" in data else None
    baseline = validate_baseline(reader, data.get("baseline", {}), environment)

    if reader.problems:
        raise ConfigError(reader.problems)
    where = _accepted(placement, "placement")
    return EnvironmentConfig(
        environment=where.environment,
        region=where.region,
        availability_zones=where.availability_zones,
        tags=_accepted(tags, "tags"),
        backend=_accepted(backend, "backend"),
        network=_accepted(network, "network"),
        logging=_accepted(logging, "logging"),
        kms=_accepted(kms, "kms"),
        data=_accepted(data_config, "data"),
        runtime=_accepted(runtime, "runtime"),
        compute=_accepted(compute, "compute"),
        api=_accepted(api, "api"),
        monitoring=_accepted(monitoring, "monitoring"),
        baseline=_accepted(baseline, "baseline"),
        source=source,
        account=account,
    )


def load_environment(path: Path) -> EnvironmentConfig:
    try:
        text = read_text(path, MAX_CONFIG_BYTES, "environment file")
    except YamlFileError as error:
        raise ConfigError([str(error)]) from None
    return parse_environment(path, text)


def load_environments(
    config_dir: Path = ENVIRONMENTS_DIR, names: Sequence[str] = KNOWN_ENVIRONMENTS
) -> list[EnvironmentConfig]:
    """Load and validate the named environments, reporting the problems of every file at once."""
    problems: list[str] = []
    configs: list[EnvironmentConfig] = []
    for name in names:
        if name not in KNOWN_ENVIRONMENTS:
            problems.append(f"environment {name!r} is unknown; expected one of {', '.join(KNOWN_ENVIRONMENTS)}")
            continue
        try:
            configs.append(load_environment(Path(config_dir) / f"{name}.yaml"))
        except ConfigError as error:
            problems.extend(error.problems)
    if problems:
        raise ConfigError(problems)
    return configs
