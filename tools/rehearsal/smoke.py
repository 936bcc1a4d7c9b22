"""Smoke checks: after apply, ask the emulator's APIs whether what the stacks promise is really there.

Each check names what it verifies and applies when the applied stacks contain the resource type it is
about (a rehearsal of a single fixture stack runs only the checks for that stack's types). A check passes
when it finds no problem; every problem is a sentence naming the object and what is wrong with it.
Expected values come from the environment's config (the intent) and, for names, from the artefact.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Callable

from botocore.exceptions import ClientError

from app.config import SUBNET_TIERS, EnvironmentConfig
from tools.rehearsal.emulator import Emulator
from tools.rehearsal.stacks import Stack
from tools.terraform_runner import Terraform

LATENCY_METRICS = frozenset({"Latency", "IntegrationLatency", "Duration", "TargetResponseTime"})
# https://docs.aws.amazon.com/apigateway/latest/developerguide/request-response-data-mappings.html: an integration
# request parameter is integration.request.{header|querystring|path}.NAME; its value a method.request.* parameter.
INTEGRATION_PARAMETER = re.compile(r"^integration\.request\.(header|querystring|path)\.[^.\s]+$")
METHOD_PARAMETER = re.compile(r"^method\.request\.(header|querystring|path)\.[^.\s]+$")
_ACCOUNT_REFERENCE = "${data.aws_caller_identity.caller.account_id}"


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    message: str


class Context:
    def __init__(self, emulator: Emulator, config: EnvironmentConfig, stacks: list[Stack],
                 applied: Mapping[str, Terraform] | None = None):
        self.emulator = emulator
        self.config = config
        # stack name -> the terraform that applied it (its working copy: the configuration as applied)
        self.applied = dict(applied or {})
        self.prefix = f"payments-{config.environment}-"
        self.resources: dict[str, list[dict]] = {}
        for stack in stacks:
            for resource_type, blocks in stack.document().get("resource", {}).items():
                self.resources.setdefault(resource_type, []).extend(blocks.values())
        self._clients: dict[str, object] = {}

    def client(self, service: str):
        if service not in self._clients:
            self._clients[service] = self.emulator.client(service)
        return self._clients[service]

    @cached_property
    def account_id(self) -> str:
        return self.client("sts").get_caller_identity()["Account"]

    def literal(self, value: object) -> str | None:
        """A name from the artefact, with the account id resolved; None if it depends on another reference."""
        if not isinstance(value, str):
            return None
        resolved = value.replace(_ACCOUNT_REFERENCE, self.account_id)
        return None if "${" in resolved else resolved

    def names(self, resource_type: str, attribute: str) -> list[str]:
        return [n for n in (self.literal(b.get(attribute)) for b in self.resources.get(resource_type, [])) if n]

    def key_arn(self, domain: str) -> str:
        alias = f"alias/payments-{self.config.environment}/{domain}"
        return self.client("kms").describe_key(KeyId=alias)["KeyMetadata"]["Arn"]


Check = Callable[[Context], Iterable[str]]


@dataclass(frozen=True)
class Registered:
    name: str
    requires: str  # resource type whose presence in the artefact makes the check apply ("*": always)
    passed: str  # the message of a passing check
    run: Check


CHECKS: list[Registered] = []


def check(name: str, requires: str, passed: str) -> Callable[[Check], Check]:
    def register(function: Check) -> Check:
        CHECKS.append(Registered(name, requires, passed, function))
        return function

    return register


def _tag(tags: list[dict] | None, key: str) -> str | None:
    return next((t["Value"] for t in tags or [] if t["Key"] == key), None)


@check("network.subnets", "aws_subnet", "one subnet per tier (public, private, database) in each of the 3 AZs")
def subnets_per_tier_and_zone(ctx: Context) -> Iterable[str]:
    subnets = [
        s for s in ctx.client("ec2").describe_subnets()["Subnets"]
        if (_tag(s.get("Tags"), "Name") or "").startswith(ctx.prefix)
    ]
    zones = ctx.config.availability_zones
    layout = {tier: sorted(s["AvailabilityZone"] for s in subnets if _tag(s.get("Tags"), "Tier") == tier)
              for tier in SUBNET_TIERS}
    if len(subnets) != len(SUBNET_TIERS) * len(zones) or any(layout[t] != sorted(zones) for t in SUBNET_TIERS):
        untiered = [s["SubnetId"] for s in subnets if _tag(s.get("Tags"), "Tier") not in SUBNET_TIERS]
        yield (f"expected {len(SUBNET_TIERS) * len(zones)} subnets, one per tier in each of {', '.join(zones)}; "
               f"found {len(subnets)}: {layout}" + (f", without a Tier tag: {untiered}" if untiered else ""))


@check("data.aurora-encryption", "aws_rds_cluster", "the cluster is encrypted with the database CMK")
def aurora_encrypted(ctx: Context) -> Iterable[str]:
    expected = ctx.key_arn("database")
    for identifier in ctx.names("aws_rds_cluster", "cluster_identifier"):
        cluster = ctx.client("rds").describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0]
        if not cluster.get("StorageEncrypted") or cluster.get("KmsKeyId") != expected:
            yield (f"cluster {identifier}: StorageEncrypted={cluster.get('StorageEncrypted')}, "
                   f"KmsKeyId={cluster.get('KmsKeyId')}; expected encryption with the database key {expected}")


@check("data.aurora-readers", "aws_rds_cluster_instance", "one writer and the configured readers, all available")
def aurora_writer_and_readers(ctx: Context) -> Iterable[str]:
    expected_readers = ctx.config.data.aurora.readers
    for identifier in ctx.names("aws_rds_cluster", "cluster_identifier"):
        cluster = ctx.client("rds").describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0]
        members = cluster.get("DBClusterMembers", [])
        writers = [m["DBInstanceIdentifier"] for m in members if m["IsClusterWriter"]]
        readers = [m["DBInstanceIdentifier"] for m in members if not m["IsClusterWriter"]]
        if len(writers) != 1 or len(readers) != expected_readers:
            yield (f"cluster {identifier}: writers {writers}, readers {readers}; "
                   f"expected 1 writer and {expected_readers} reader(s)")
        for member in writers + readers:
            status = ctx.client("rds").describe_db_instances(DBInstanceIdentifier=member)["DBInstances"][0]
            if status["DBInstanceStatus"] != "available":
                yield f"instance {member} of {identifier} is {status['DBInstanceStatus']}, not available"


@check("data.dynamodb-pitr", "aws_dynamodb_table", "point-in-time recovery is on for every table")
def dynamodb_pitr(ctx: Context) -> Iterable[str]:
    for table in ctx.names("aws_dynamodb_table", "name"):
        backups = ctx.client("dynamodb").describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
        status = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus", "DISABLED")
        if status != "ENABLED":
            yield f"table {table}: point-in-time recovery is {status}; PITR must be on for every table"


@check("data.dynamodb-gsis", "aws_dynamodb_table", "every table has exactly the synthesized global secondary indexes")
def dynamodb_gsis(ctx: Context) -> Iterable[str]:
    for body in ctx.resources["aws_dynamodb_table"]:
        table = ctx.literal(body["name"])
        expected = sorted(index["name"] for index in body.get("global_secondary_index", []))
        described = ctx.client("dynamodb").describe_table(TableName=table)["Table"]
        found = sorted(index["IndexName"] for index in described.get("GlobalSecondaryIndexes", []))
        if found != expected:
            yield f"table {table}: global secondary indexes {found}; expected {expected}"


@check("data.dynamodb-cmk", "aws_dynamodb_table", "every table is encrypted with the dynamodb CMK")
def dynamodb_cmk(ctx: Context) -> Iterable[str]:
    expected = ctx.key_arn("dynamodb")
    for table in ctx.names("aws_dynamodb_table", "name"):
        sse = ctx.client("dynamodb").describe_table(TableName=table)["Table"].get("SSEDescription", {})
        if sse.get("SSEType") != "KMS" or sse.get("KMSMasterKeyArn") != expected:
            yield f"table {table}: encryption {sse or 'AWS owned key'}; expected SSE-KMS with {expected}"


def _audit_buckets(ctx: Context) -> list[str]:
    return [n for n in (ctx.literal(b.get("bucket")) for b in ctx.resources["aws_s3_bucket"]
                        if b.get("object_lock_enabled")) if n]


@check("data.audit-bucket-versioning", "aws_s3_bucket_object_lock_configuration", "the audit bucket is versioned")
def audit_versioning(ctx: Context) -> Iterable[str]:
    for bucket in _audit_buckets(ctx):
        status = ctx.client("s3").get_bucket_versioning(Bucket=bucket).get("Status", "never enabled")
        if status != "Enabled":
            yield f"audit bucket {bucket}: versioning is {status}; it must be Enabled"


@check("data.audit-bucket-lifecycle", "aws_s3_bucket_object_lock_configuration",
       "the audit bucket keeps 3 months hot, then archives, then expires as configured")
def audit_lifecycle(ctx: Context) -> Iterable[str]:
    archive = ctx.config.data.audit_archive
    expected = {
        "transitions": [(t.days, t.storage_class) for t in archive.transitions],
        "expiration": archive.expiration_days,
        "noncurrent expiration": archive.noncurrent_version_expiration_days,
    }
    for bucket in _audit_buckets(ctx):
        try:
            rules = ctx.client("s3").get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        except ClientError as error:
            yield f"audit bucket {bucket}: no lifecycle configuration ({error.response['Error']['Code']})"
            continue
        enabled = [r for r in rules if r.get("Status") == "Enabled"]
        found = [
            {
                "transitions": sorted((t["Days"], t["StorageClass"]) for t in r.get("Transitions", [])),
                "expiration": r.get("Expiration", {}).get("Days"),
                "noncurrent expiration": r.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays"),
            }
            for r in enabled
        ]
        if expected not in found:
            yield f"audit bucket {bucket}: enabled lifecycle rules {found}; expected a rule {expected}"


@check("data.audit-bucket-object-lock", "aws_s3_bucket_object_lock_configuration",
       "Object Lock is on with the configured default retention")
def audit_object_lock(ctx: Context) -> Iterable[str]:
    archive = ctx.config.data.audit_archive
    expected = {"Mode": archive.object_lock_mode, "Days": archive.object_lock_retention_days}
    for bucket in _audit_buckets(ctx):
        try:
            lock = ctx.client("s3").get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
        except ClientError as error:
            yield f"audit bucket {bucket}: no Object Lock configuration ({error.response['Error']['Code']})"
            continue
        retention = {k: v for k, v in lock.get("Rule", {}).get("DefaultRetention", {}).items() if v}
        if lock.get("ObjectLockEnabled") != "Enabled" or retention != expected:
            yield (f"audit bucket {bucket}: Object Lock {lock.get('ObjectLockEnabled')}, default retention "
                   f"{retention}; expected Enabled with {expected}")


@check("data.audit-bucket-encryption", "aws_s3_bucket_object_lock_configuration",
       "the audit bucket encrypts with the s3-audit CMK and blocks public access")
def audit_encryption(ctx: Context) -> Iterable[str]:
    expected = ctx.key_arn("s3-audit")
    s3 = ctx.client("s3")
    for bucket in _audit_buckets(ctx):
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        defaults = [r.get("ApplyServerSideEncryptionByDefault", {}) for r in rules]
        if not any(d.get("SSEAlgorithm") == "aws:kms" and d.get("KMSMasterKeyID") == expected for d in defaults):
            yield f"audit bucket {bucket}: default encryption {defaults}; expected aws:kms with {expected}"
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        if not all(block.values()):
            yield f"audit bucket {bucket}: public access block {block}; every setting must be true"


@check("data.secret-rotation", "aws_secretsmanager_secret_rotation",
       "rotation is enabled on every rotated secret, by an existing function, at the configured interval")
def secret_rotation(ctx: Context) -> Iterable[str]:
    days = ctx.config.data.secret_rotation_days
    secrets = ctx.client("secretsmanager")
    for name in ctx.names("aws_secretsmanager_secret", "name"):
        secret = secrets.describe_secret(SecretId=name)
        function = secret.get("RotationLambdaARN")
        interval = secret.get("RotationRules", {}).get("AutomaticallyAfterDays")
        if not secret.get("RotationEnabled") or interval != days:
            yield (f"secret {name}: RotationEnabled={secret.get('RotationEnabled')}, every {interval} days; "
                   f"expected rotation every {days} days")
        if not function:
            yield f"secret {name}: no rotation function"
            continue
        try:
            ctx.client("lambda").get_function(FunctionName=function)
        except ClientError:
            yield f"secret {name}: rotation function {function} does not exist"


@check("data.ssm-parameters", "aws_ssm_parameter", "every synthesized parameter exists with its declared type")
def ssm_parameters(ctx: Context) -> Iterable[str]:
    ssm = ctx.client("ssm")
    for body in ctx.resources["aws_ssm_parameter"]:
        name = ctx.literal(body["name"])
        try:
            parameter = ssm.get_parameter(Name=name)["Parameter"]
        except ClientError:
            yield f"parameter {name} does not exist"
            continue
        if parameter["Type"] != body["type"]:
            yield f"parameter {name}: type {parameter['Type']}; expected {body['type']}"


@check("compute.lambda-vpc", "aws_lambda_function",
       "every function runs in the private subnets with its security groups")
def lambda_vpc(ctx: Context) -> Iterable[str]:
    private = {
        s["SubnetId"] for s in ctx.client("ec2").describe_subnets()["Subnets"]
        if _tag(s.get("Tags"), "Tier") == "private" and (_tag(s.get("Tags"), "Name") or "").startswith(ctx.prefix)
    }
    for name in ctx.names("aws_lambda_function", "function_name"):
        vpc = ctx.client("lambda").get_function_configuration(FunctionName=name).get("VpcConfig") or {}
        subnets, groups = set(vpc.get("SubnetIds", [])), vpc.get("SecurityGroupIds", [])
        if not subnets or not groups or not subnets <= private:
            yield (f"function {name}: subnets {sorted(subnets)}, security groups {groups}; expected private-tier "
                   f"subnets {sorted(private)} and at least one security group")


@check("compute.lambda-reserved-concurrency", "aws_lambda_function", "every function has its reserved concurrency")
def lambda_reserved_concurrency(ctx: Context) -> Iterable[str]:
    configured = {f"{ctx.prefix}{name.replace('_', '-')}": f.reserved_concurrency
                  for name, f in ctx.config.compute.functions.items()}
    for body in ctx.resources["aws_lambda_function"]:
        name = ctx.literal(body["function_name"])
        expected = configured.get(name, body.get("reserved_concurrent_executions"))
        found = ctx.client("lambda").get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")
        if expected is None or expected < 1 or found != expected:
            yield f"function {name}: reserved concurrency {found}; expected {expected} (at least 1)"


@check("compute.alb-weighted-forward", "aws_lb_listener_rule",
       "the ALB's HTTPS listener forwards to the blue and green target groups with the configured weights")
def alb_weighted_forward(ctx: Context) -> Iterable[str]:
    elb = ctx.client("elbv2")
    compute = ctx.config.compute
    expected = sorted([compute.blue.weight, compute.green.weight])
    names = [n for b in ctx.resources["aws_lb"] if b.get("load_balancer_type", "application") == "application"
             for n in [ctx.literal(b.get("name"))] if n]
    for name in names:
        balancer = elb.describe_load_balancers(Names=[name])["LoadBalancers"][0]
        listeners = elb.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
        https = [li for li in listeners if li["Protocol"] == "HTTPS" and li["Port"] == 443]
        if not https or any(li.get("SslPolicy") != compute.alb_ssl_policy for li in https):
            found = [(li["Protocol"], li["Port"], li.get("SslPolicy")) for li in listeners]
            yield f"load balancer {name}: listeners {found}; expected HTTPS 443 with {compute.alb_ssl_policy}"
            continue
        weighted = []
        for listener in https:
            for rule in elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]:
                for action in rule.get("Actions", []):
                    groups = action.get("ForwardConfig", {}).get("TargetGroups", [])
                    if len(groups) == 2:
                        weighted.append(sorted(g.get("Weight", 1) for g in groups))
        if expected not in weighted:
            yield (f"load balancer {name}: weighted forwards {weighted}; expected one rule forwarding to two target "
                   f"groups weighted {expected} (blue {compute.blue.weight}, green {compute.green.weight})")


def _rest_apis(ctx: Context) -> list[dict]:
    wanted = set(ctx.names("aws_api_gateway_rest_api", "name"))
    return [api for api in ctx.client("apigateway").get_rest_apis()["items"] if api["name"] in wanted]


@check("api.stage", "aws_api_gateway_stage", "the REST API has its stage, with X-Ray tracing")
def api_stage(ctx: Context) -> Iterable[str]:
    expected = set(ctx.names("aws_api_gateway_stage", "stage_name"))
    apis = _rest_apis(ctx)
    if not apis:
        yield f"no REST API named {ctx.names('aws_api_gateway_rest_api', 'name')}"
    for api in apis:
        stages = {s["stageName"]: s for s in ctx.client("apigateway").get_stages(restApiId=api["id"])["item"]}
        if not expected <= set(stages):
            yield f"REST API {api['name']}: stages {sorted(stages)}; expected {sorted(expected)}"
        for name in expected & set(stages):
            if not stages[name].get("tracingEnabled"):
                yield f"REST API {api['name']} stage {name}: X-Ray tracing is off"


@check("api.vpc-link", "aws_api_gateway_vpc_link", "the VPC link is available and targets the internal NLB")
def api_vpc_link(ctx: Context) -> Iterable[str]:
    links = {link["name"]: link for link in ctx.client("apigateway").get_vpc_links()["items"]}
    elb = ctx.client("elbv2")
    for name in ctx.names("aws_api_gateway_vpc_link", "name"):
        link = links.get(name)
        if link is None:
            yield f"VPC link {name} does not exist (found {sorted(links)})"
            continue
        targets = link.get("targetArns", [])
        kinds = [elb.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]["Type"] for arn in targets]
        if link.get("status") != "AVAILABLE" or kinds != ["network"]:
            yield f"VPC link {name}: status {link.get('status')}, target types {kinds}; expected AVAILABLE -> one NLB"


@check("api.request-validation", "aws_api_gateway_request_validator",
       "every method validates body and parameters and requires the configured authorization")
def api_request_validation(ctx: Context) -> Iterable[str]:
    apigateway = ctx.client("apigateway")
    for api in _rest_apis(ctx):
        validators = {v["id"]: v for v in apigateway.get_request_validators(restApiId=api["id"])["items"]}
        strict = {i for i, v in validators.items()
                  if v.get("validateRequestBody") and v.get("validateRequestParameters")}
        if not strict:
            yield f"REST API {api['name']}: no validator checks both body and parameters ({list(validators.values())})"
        for resource in apigateway.get_resources(restApiId=api["id"])["items"]:
            for method in resource.get("resourceMethods", {}):
                described = apigateway.get_method(restApiId=api["id"], resourceId=resource["id"], httpMethod=method)
                if described.get("requestValidatorId") not in strict:
                    yield f"REST API {api['name']}: {method} {resource['path']} has no strict request validator"
                if described.get("authorizationType") != ctx.config.api.authorization:
                    yield (f"REST API {api['name']}: {method} {resource['path']} authorization "
                           f"{described.get('authorizationType')}; expected {ctx.config.api.authorization}")


@check("api.integration-parameters", "aws_api_gateway_integration",
       "every integration maps the method's parameters with keys of the form integration.request.<location>.<name>")
def api_integration_parameters(ctx: Context) -> Iterable[str]:
    apigateway = ctx.client("apigateway")
    expected = sum(len(b.get("request_parameters") or {}) for b in ctx.resources["aws_api_gateway_integration"])
    found = 0
    for api in _rest_apis(ctx):
        for resource in apigateway.get_resources(restApiId=api["id"])["items"]:
            for method in resource.get("resourceMethods", {}):
                where = f"REST API {api['name']}: {method} {resource['path']}"
                declared = apigateway.get_method(restApiId=api["id"], resourceId=resource["id"],
                                                 httpMethod=method).get("requestParameters") or {}
                integration = apigateway.get_integration(restApiId=api["id"], resourceId=resource["id"],
                                                         httpMethod=method)
                for key, value in (integration.get("requestParameters") or {}).items():
                    found += 1
                    if not INTEGRATION_PARAMETER.match(key):
                        yield f"{where}: integration parameter key {key!r} is not integration.request.<location>.<name>"
                    if METHOD_PARAMETER.match(value) and value not in declared:
                        yield f"{where}: integration parameter {key!r} maps {value!r}, which the method lacks"
    if found != expected:
        yield f"{found} integration request parameter(s) read back; {expected} synthesized"


def _statements(document: str | dict) -> list[dict]:
    if isinstance(document, str):
        document = json.loads(document)
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else statements


def _listed(value: str | list[str] | None) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _allows(statements: list[dict], action: str, arn: str) -> bool:
    """Whether an Allow statement (IAM wildcards; actions case-insensitive) grants ``action`` on ``arn``; the role
    policies here have no Deny or NotAction statements (a statement with either is not counted as granting)."""
    return any(
        s.get("Effect") == "Allow" and "NotAction" not in s and "NotResource" not in s
        and any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in _listed(s.get("Action")))
        and any(fnmatch.fnmatchcase(arn, r) for r in _listed(s.get("Resource")))
        for s in statements
    )


@check("api.account-cloudwatch-role", "aws_api_gateway_account",
       "the account's API Gateway CloudWatch role may write every stage's access log group")
def api_account_cloudwatch_role(ctx: Context) -> Iterable[str]:
    role_arn = ctx.client("apigateway").get_account().get("cloudwatchRoleArn")
    if not role_arn:
        yield "the API Gateway account has no CloudWatch role"
        return
    iam = ctx.client("iam")
    role = role_arn.rsplit("/", 1)[1]
    statements = [
        statement
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
        for statement in _statements(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
    ]
    for api in _rest_apis(ctx):
        for stage in ctx.client("apigateway").get_stages(restApiId=api["id"])["item"]:
            group = (stage.get("accessLogSettings") or {}).get("destinationArn")
            if not group:
                yield f"REST API {api['name']} stage {stage['stageName']}: no access log destination"
                continue
            group = group.removesuffix(":*")
            stream = f"{group}:log-stream:rehearsal"
            denied = [f"{action} on {arn}" for action, arn in (("logs:CreateLogStream", group),
                                                               ("logs:PutLogEvents", stream))
                      if not _allows(statements, action, arn)]
            if denied:
                yield (f"role {role} (the account's API Gateway CloudWatch role) does not allow "
                       f"{', '.join(denied)}: the access logs of {api['name']} stage {stage['stageName']} are lost")


@check("data.dms-target-secret", "aws_dms_endpoint",
       "the DMS target endpoint reads its own secret, never the cluster's RDS-managed master secret")
def dms_target_secret(ctx: Context) -> Iterable[str]:
    masters = {
        (cluster.get("MasterUserSecret") or {}).get("SecretArn")
        for cluster in ctx.client("rds").describe_db_clusters()["DBClusters"]
    } - {None}
    # the API's enumeration is source | target; AWS answers in upper case, moto as written
    targets = [e for e in ctx.client("dms").describe_endpoints()["Endpoints"]
               if str(e.get("EndpointType")).lower() == "target"]
    if not targets:
        yield "no DMS target endpoint"
    for endpoint in targets:
        secret = next((settings.get("SecretsManagerSecretId") for key, settings in endpoint.items()
                       if key.endswith("Settings") and isinstance(settings, dict)
                       and settings.get("SecretsManagerSecretId")), None)
        if not secret:
            yield f"DMS endpoint {endpoint['EndpointIdentifier']}: no Secrets Manager secret read back"
        elif secret in masters:
            yield (f"DMS endpoint {endpoint['EndpointIdentifier']}: uses the RDS-managed master secret {secret}, "
                   "which AWS DMS does not support")


def _alarms(ctx: Context) -> dict:
    found = {"MetricAlarms": [], "CompositeAlarms": []}
    for page in ctx.client("cloudwatch").get_paginator("describe_alarms").paginate(
        AlarmNamePrefix=ctx.prefix, AlarmTypes=["MetricAlarm", "CompositeAlarm"]
    ):
        for kind in found:
            found[kind].extend(page.get(kind, []))
    return found


@check("monitoring.latency-alarms-p99", "aws_cloudwatch_metric_alarm", "every latency alarm uses the p99 statistic")
def latency_alarms_p99(ctx: Context) -> Iterable[str]:
    expected = {ctx.literal(b["alarm_name"]) for b in ctx.resources["aws_cloudwatch_metric_alarm"]
                if b.get("metric_name") in LATENCY_METRICS}
    latency = [a for a in _alarms(ctx)["MetricAlarms"] if a.get("MetricName") in LATENCY_METRICS]
    missing = expected - {a["AlarmName"] for a in latency}
    if missing:
        yield f"latency alarms missing: {sorted(missing)}"
    for alarm in latency:
        if alarm.get("ExtendedStatistic") != "p99":
            yield (f"alarm {alarm['AlarmName']} ({alarm['MetricName']}): statistic "
                   f"{alarm.get('ExtendedStatistic') or alarm.get('Statistic')}; expected p99")


@check("monitoring.alarm-actions", "aws_cloudwatch_metric_alarm",
       "every alarm exists and notifies an existing SNS topic")
def alarm_actions(ctx: Context) -> Iterable[str]:
    topics = {t["TopicArn"] for t in ctx.client("sns").list_topics()["Topics"]}
    alarms = _alarms(ctx)
    live = alarms["MetricAlarms"] + alarms["CompositeAlarms"]
    expected = {ctx.literal(b["alarm_name"])
                for kind in ("aws_cloudwatch_metric_alarm", "aws_cloudwatch_composite_alarm")
                for b in ctx.resources.get(kind, [])}
    missing = expected - {a["AlarmName"] for a in live}
    if missing:
        yield f"alarms missing: {sorted(missing)}"
    for alarm in live:
        actions = alarm.get("AlarmActions", [])
        if not actions or not set(actions) <= topics:
            yield f"alarm {alarm['AlarmName']}: actions {actions}; expected existing SNS topics ({sorted(topics)})"


@check("monitoring.dashboards", "aws_cloudwatch_dashboard", "every dashboard exists and has widgets")
def dashboards(ctx: Context) -> Iterable[str]:
    cloudwatch = ctx.client("cloudwatch")
    for name in ctx.names("aws_cloudwatch_dashboard", "dashboard_name"):
        try:
            body = json.loads(cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"])
        except ClientError:
            yield f"dashboard {name} does not exist"
            continue
        if not body.get("widgets"):
            yield f"dashboard {name} has no widgets"


@check("monitoring.topics", "aws_sns_topic", "every topic exists, encrypted with the messaging CMK")
def topics(ctx: Context) -> Iterable[str]:
    expected_key = ctx.key_arn("messaging")
    sns = ctx.client("sns")
    arns = {t["TopicArn"].rsplit(":", 1)[1]: t["TopicArn"] for t in sns.list_topics()["Topics"]}
    for name in ctx.names("aws_sns_topic", "name"):
        if name not in arns:
            yield f"topic {name} does not exist"
            continue
        key = sns.get_topic_attributes(TopicArn=arns[name])["Attributes"].get("KmsMasterKeyId")
        if key not in (expected_key, expected_key.rsplit("/", 1)[1]):
            yield f"topic {name}: KmsMasterKeyId {key}; expected the messaging key {expected_key}"


@check("audit.trail", "aws_cloudtrail",
       "the trail is logging, multi-Region, validated, encrypted with the s3-audit CMK into the audit bucket")
def audit_trail(ctx: Context) -> Iterable[str]:
    expected_key, buckets = ctx.key_arn("s3-audit"), _audit_buckets(ctx)
    cloudtrail = ctx.client("cloudtrail")
    for name in ctx.names("aws_cloudtrail", "name"):
        [trail] = cloudtrail.describe_trails(trailNameList=[name])["trailList"] or [{}]
        found = {
            "multi-Region": trail.get("IsMultiRegionTrail"),
            "log file validation": trail.get("LogFileValidationEnabled"),
            "key": trail.get("KmsKeyId"),
            "bucket": trail.get("S3BucketName"),
        }
        wanted = {"multi-Region": True, "log file validation": True, "key": expected_key, "bucket": found["bucket"]}
        if found != wanted or found["bucket"] not in buckets:
            yield f"trail {name}: {found}; expected {wanted} into one of the audit buckets {buckets}"
        if not cloudtrail.get_trail_status(Name=name).get("IsLogging"):
            yield f"trail {name}: not logging"


@check("audit.backup-vault-lock", "aws_backup_vault_lock_configuration",
       "the backup vault is locked with the configured minimum and maximum retention")
def backup_vault_lock(ctx: Context) -> Iterable[str]:
    backup = ctx.config.baseline.backup
    expected = {"Locked": True, "MinRetentionDays": backup.daily_retention_days,
                "MaxRetentionDays": backup.monthly_retention_days}
    for name in ctx.names("aws_backup_vault", "name"):
        vault = ctx.client("backup").describe_backup_vault(BackupVaultName=name)
        found = {key: vault.get(key) for key in expected}
        if found != expected:
            yield f"backup vault {name}: {found}; expected {expected}"


@check("audit.config-recorder", "aws_config_configuration_recorder",
       "AWS Config records every supported resource type, including global ones")
def config_recorder(ctx: Context) -> Iterable[str]:
    config = ctx.client("config")
    for recorder in config.describe_configuration_recorders()["ConfigurationRecorders"] or [{}]:
        group = recorder.get("recordingGroup", {})
        if not (group.get("allSupported") and group.get("includeGlobalResourceTypes")):
            yield f"recorder {recorder.get('name')}: recording group {group}; expected all supported and global types"
    statuses = config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
    if not statuses or not all(status.get("recording") for status in statuses):
        yield f"recorder status {statuses}: expected recording"


def _required_versions(directory) -> list[str]:
    """Every ``terraform.required_version`` of the working copy's JSON configuration files."""
    found = []
    for path in sorted(directory.glob("*.tf.json")):
        block = json.loads(path.read_text()).get("terraform", {})
        for terraform in block if isinstance(block, list) else [block]:
            if terraform.get("required_version"):
                found.append(f"{path.name}: {terraform['required_version']}")
    return found


@check("deploy.required-version", "*", "every applied configuration declares the Terraform version it needs")
def required_version(ctx: Context) -> Iterable[str]:
    if not ctx.applied:
        yield "no working copies were given to check"
    for stack, terraform in ctx.applied.items():
        if not _required_versions(terraform.directory):
            files = ", ".join(p.name for p in sorted(terraform.directory.glob("*.tf.json")))
            yield f"{stack}: no required_version in the configuration that was applied ({files})"


def _one_line(error: Exception) -> str:
    return re.sub(r"\s+", " ", str(error)).strip()


def run_checks(emulator: Emulator, config: EnvironmentConfig, stacks: list[Stack],
               applied: Mapping[str, Terraform] | None = None) -> list[CheckResult]:
    ctx = Context(emulator, config, stacks, applied)
    results = []
    for registered in CHECKS:
        if registered.requires != "*" and registered.requires not in ctx.resources:
            continue
        try:
            problems = list(registered.run(ctx))
        except (ClientError, KeyError, IndexError) as error:
            problems = [f"could not be checked: {type(error).__name__}: {_one_line(error)}"]
        message = "; ".join(problems) if problems else registered.passed
        results.append(CheckResult(registered.name, not problems, message))
    return results
