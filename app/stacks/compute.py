"""payments-<env>-compute: the payment functions and the private blue/green ALB in front of them."""

from __future__ import annotations

from constructs import Construct

from app.components.blue_green_alb import BlueGreenAlb
from app.components.iam import statement
from app.components.parameters import ConfigParameters
from app.components.payment_functions import (
    SLOTS,
    FunctionKeys,
    FunctionNetwork,
    build_payment_function,
)
from app.components.waf import PaymentsWebAcl
from app.config import EnvironmentConfig
from app.stacks.base import PaymentsStack
from app.stacks.data import DataStack
from app.stacks.network import NetworkStack
from app.stacks.security import SecurityStack
from lambda_src.payments_common import ssm_contract as ssm


def failed_transactions_topic_name(environment: str) -> str:
    """Deterministic, so the compute tier can be granted Publish before the monitoring stack creates it."""
    return f"payments-{environment}-failed-transactions"


class ComputeStack(PaymentsStack):
    def __init__(
        self,
        scope: Construct,
        *,
        config: EnvironmentConfig,
        security: SecurityStack,
        network: NetworkStack,
        data: DataStack,
    ):
        super().__init__(scope, config=config, domain="compute")
        net = network.network
        key = security.key
        region, account, partition = config.region, self.account_id, self.partition
        path = data.parameters.path
        parameter_arn_prefix = f"arn:{partition}:ssm:{region}:{account}:parameter{path}"
        self.topic_arn = f"arn:{partition}:sns:{region}:{account}:{failed_transactions_topic_name(config.environment)}"
        shared = {
            "name_prefix": self.name_prefix,
            "network": FunctionNetwork(
                vpc_id=net.vpc.id,
                vpc_cidr=config.network.vpc_cidr,
                subnet_ids=[s.id for s in net.subnets["private"]],
                dynamodb_prefix_list_id=net.endpoints["dynamodb"].prefix_list_id,
            ),
            "keys": FunctionKeys(environment=key("lambda-env").arn, logs=key("logs").arn),
            "layers": [data.powertools_layer],
            "log_retention_days": config.logging.retention_days,
            "region": region,
            "account_id": account,
            "partition": partition,
        }

        def environment(service: str) -> dict[str, str]:
            return {
                "CONFIG_PATH": path,
                "POWERTOOLS_SERVICE_NAME": service,
                "POWERTOOLS_METRICS_NAMESPACE": "Payments",
                "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
                "POWERTOOLS_LOGGER_LOG_EVENT": "false",
            }

        def read_parameters(function: str) -> dict:
            """ssm:GetParameter on exactly the parameters the function reads (the SSM contract)."""
            arns = [f"{parameter_arn_prefix}/{parameter.name}" for parameter in ssm.read_by(function)]
            return statement("ReadOwnConfiguration", ["ssm:GetParameter"], arns)

        decrypt_parameters = statement("DecryptSecureParameters", ["kms:Decrypt"], [key("parameters").arn])
        transactions = data.tables.transactions
        idempotency_records = statement(
            "IdempotencyRecords",
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            [data.tables.idempotency.arn],
        )
        functions = config.compute.functions
        blue = config.compute.blue
        self.validation = build_payment_function(
            self,
            "payment_validation",
            description="Validates and tokenizes payment requests",
            config=functions["payment_validation"],
            environment=environment("payment-validation"),
            uses_dynamodb=False,
            pinned_versions={"blue": blue.downstream_versions.get("payment_validation")},
            statements=[read_parameters("payment_validation"), decrypt_parameters],
            **shared,
        )
        self.fraud = build_payment_function(
            self,
            "fraud_detection",
            description="Scores payments with explainable fraud rules",
            config=functions["fraud_detection"],
            environment=environment("fraud-detection"),
            uses_dynamodb=True,
            pinned_versions={"blue": blue.downstream_versions.get("fraud_detection")},
            statements=[
                read_parameters("fraud_detection"),
                statement(
                    "QueryVelocityAndHistory",
                    ["dynamodb:Query"],
                    [f"{transactions.arn}/index/by-card-token", f"{transactions.arn}/index/by-customer"],
                ),
                # Powertools idempotency keyed on transaction_id: a retried call returns the same decision.
                idempotency_records,
                statement("EncryptTableData", ["kms:Decrypt", "kms:GenerateDataKey"], [key("dynamodb").arn]),
            ],
            **shared,
        )
        downstream = [self.validation.alias_arn(slot) for slot in SLOTS] + [
            self.fraud.alias_arn(slot) for slot in SLOTS
        ]
        self.processing = build_payment_function(
            self,
            "transaction_processing",
            description="POST/GET /v1/payments behind the ALB",
            config=functions["transaction_processing"],
            environment=environment("transaction-processing"),
            uses_dynamodb=True,
            extra_security_group_ids=[data.database_clients.id],
            pinned_versions={"blue": blue.version},
            statements=[
                read_parameters("transaction_processing"),
                statement(
                    "RecordTransactions",
                    ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                    [transactions.arn],
                ),
                # Powertools idempotency keyed on merchant and idempotency-key: one payment per key, its answer
                # replayed.
                idempotency_records,
                statement("EncryptTableData", ["kms:Decrypt", "kms:GenerateDataKey"], [key("dynamodb").arn]),
                statement("InvokeValidationAndFraud", ["lambda:InvokeFunction"], downstream),
                statement("PublishFailedTransactions", ["sns:Publish"], [self.topic_arn]),
                # The topic is encrypted with the messaging key: a publisher needs a data key from it.
                statement("EncryptFailedTransactions", ["kms:Decrypt", "kms:GenerateDataKey"], [key("messaging").arn]),
            ],
            **shared,
        )

        self.parameters = ConfigParameters(
            self, "parameters", environment=config.environment, key_arn=key("parameters").arn
        )
        # Unqualified: transaction_processing calls the alias of the slot it was itself invoked through, so a
        # request the ALB sends to the blue slot is validated and scored by blue code too.
        self.parameters.string(
            ssm.PAYMENT_VALIDATION_FUNCTION,
            self.validation.function.function_name,
            "Validation function transaction_processing invokes (qualified with the caller's own slot alias)",
        )
        self.parameters.string(
            ssm.FRAUD_DETECTION_FUNCTION,
            self.fraud.function.function_name,
            "Fraud function transaction_processing invokes (qualified with the caller's own slot alias)",
        )
        self.parameters.string(
            ssm.FAILED_TRANSACTIONS_TOPIC_ARN,
            self.topic_arn,
            "Topic receiving failed transactions (created by the monitoring stack)",
        )
        traffic = {
            slot: {"kind": spec.kind, "weight": spec.weight}
            for slot, spec in (("blue", config.compute.blue), ("green", config.compute.green))
        }
        self.parameters.document(ssm.TRAFFIC_WEIGHTS, traffic, "Blue/green weights in force at the ALB (mirror)")

        self.web_acl = PaymentsWebAcl(
            self,
            "alb-waf",
            name=f"{self.name_prefix}-alb",
            logs_key_arn=key("logs").arn,
            log_retention_days=config.logging.retention_days,
            rate_limit_per_5_minutes=None,
        )
        vpn = config.compute.vpn
        self.alb = BlueGreenAlb(
            self,
            "alb",
            config=config.compute,
            name_prefix=self.name_prefix,
            vpc_id=net.vpc.id,
            subnet_ids=[s.id for s in net.subnets["private"]],
            client_cidrs=config.network.private_subnets,
            onprem_cidrs=vpn.onprem_cidrs if vpn else (),
            entry_function=self.processing,
            access_log_bucket=data.logs.service_logs.name,
            access_log_prefix=data.logs.ALB_LOG_PREFIX,
            web_acl_arn=self.web_acl.arn,
            deletion_protection=config.is_prod,
        )

        self.output("alb_arn", self.alb.arn, "Internal ALB (blue/green)")
        self.output("alb_dns_name", self.alb.alb.dns_name, "Internal ALB DNS name")
        for slot in SLOTS:
            self.output(f"target_group_{slot}_arn", self.alb.target_groups[slot].arn, f"{slot} target group")
        for function in (self.validation, self.fraud, self.processing):
            name = function.function.function_name.removeprefix(f"{self.name_prefix}-").replace("-", "_")
            self.output(f"{name}_function_arn", function.function.arn, f"{name} function ARN")
            for slot in SLOTS:
                self.output(f"{name}_{slot}_alias_arn", function.alias_arn(slot), f"{name} {slot} alias ARN")
