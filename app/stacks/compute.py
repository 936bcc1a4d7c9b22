"""payments-<env>-compute: the payment functions and the private blue/green ALB in front of them."""

from __future__ import annotations

from collections.abc import Sequence

from constructs import Construct

from app.components.blue_green_alb import AlbNetwork, BlueGreenAlb
from app.components.iam import IamStatement, statement
from app.components.log_buckets import LogArchive
from app.components.parameters import ConfigParameters
from app.components.payment_functions import (
    SLOTS,
    FunctionNetwork,
    PaymentFunction,
    PaymentFunctionEnvironment,
    PaymentFunctionProps,
    build_payment_function,
    grant_invoke,
)
from app.components.waf import PaymentsWebAcl
from app.stacks.base import PaymentsStack
from app.stacks.data import DataStack
from app.stacks.foundation import Foundation
from lambda_src.payments_common import ssm_contract as ssm

POWERTOOLS_METRICS_NAMESPACE = "Payments"


def failed_transactions_topic_name(environment: str) -> str:
    """Deterministic, so the compute tier can be granted Publish before the monitoring stack creates it."""
    return f"payments-{environment}-failed-transactions"


class ComputeStack(PaymentsStack):
    def __init__(self, scope: Construct, *, foundation: Foundation, data: DataStack) -> None:
        config = foundation.config
        super().__init__(scope, config=config, domain="compute")
        self.foundation = foundation
        self.data_parameters = data.parameters
        self.parameter_path = data.parameters.path
        self.topic_arn = self.account_scope.arn("sns", failed_transactions_topic_name(config.environment))
        self.shared = PaymentFunctionEnvironment(
            name_prefix=self.name_prefix,
            network=FunctionNetwork(
                vpc_id=foundation.vpc.vpc_id,
                vpc_cidr=config.network.vpc_cidr,
                subnet_ids=foundation.vpc.subnet_ids("private"),
                dynamodb_prefix_list_id=foundation.vpc.gateway_prefix_list_id("dynamodb"),
            ),
            environment_key_arn=foundation.key_arn("lambda-env"),
            logs=foundation.log_retention(),
            layers=[data.powertools_layer],
        )
        self.validation = self._build_validation()
        self.fraud = self._build_fraud_detection(data)
        self.processing = self._build_transaction_processing(data)
        self.parameters = self._publish_parameters()
        self.web_acl = PaymentsWebAcl(
            self,
            "alb-waf",
            name=f"{self.name_prefix}-alb",
            logs=foundation.log_retention(),
            rate_limit_per_5_minutes=None,
        )
        self.alb = self._build_alb(data)
        self._outputs()

    def _environment(self, service: str) -> dict[str, str]:
        return {
            "CONFIG_PATH": self.parameter_path,
            "POWERTOOLS_SERVICE_NAME": service,
            "POWERTOOLS_METRICS_NAMESPACE": POWERTOOLS_METRICS_NAMESPACE,
            "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
            "POWERTOOLS_LOGGER_LOG_EVENT": "false",
        }

    def _build(
        self,
        name: str,
        description: str,
        *,
        uses_dynamodb: bool,
        blue_version: int | None,
        statements: list[IamStatement],
        extra_security_group_ids: Sequence[str] = (),
    ) -> PaymentFunction:
        """One payment function: its own configuration, service name (the slug) and the SSM parameters it reads
        (the first statement); ``blue_version`` pins the blue slot to a published version."""
        props = PaymentFunctionProps(
            description=description,
            config=self.config.compute.functions[name],
            environment=self._environment(name.replace("_", "-")),
            uses_dynamodb=uses_dynamodb,
            extra_security_group_ids=extra_security_group_ids,
            pinned_versions={"blue": blue_version},
            statements=[self.data_parameters.grant_read_by(name, self.account_scope), *statements],
        )
        return build_payment_function(self, name, props=props, shared=self.shared)

    def _build_validation(self) -> PaymentFunction:
        return self._build(
            "payment_validation",
            "Validates and tokenizes payment requests",
            uses_dynamodb=False,
            blue_version=self.config.compute.blue.downstream_versions.get("payment_validation"),
            statements=[self.data_parameters.grant_decrypt()],
        )

    def _build_fraud_detection(self, data: DataStack) -> PaymentFunction:
        tables = data.tables
        return self._build(
            "fraud_detection",
            "Scores payments with explainable fraud rules",
            uses_dynamodb=True,
            blue_version=self.config.compute.blue.downstream_versions.get("fraud_detection"),
            statements=[
                tables.grant_index_queries("QueryVelocityAndHistory", "by-card-token", "by-customer"),
                # Powertools idempotency keyed on transaction_id: a retried call returns the same decision.
                tables.grant_idempotency_records(),
                tables.grant_table_encryption(),
            ],
        )

    def _build_transaction_processing(self, data: DataStack) -> PaymentFunction:
        return self._build(
            "transaction_processing",
            "POST/GET /v1/payments behind the ALB",
            uses_dynamodb=True,
            blue_version=self.config.compute.blue.version,
            extra_security_group_ids=[data.database_clients.id],
            statements=[
                data.tables.grant_transaction_writes(),
                # Powertools idempotency keyed on merchant and idempotency-key: one payment per key, its answer
                # replayed.
                data.tables.grant_idempotency_records(),
                data.tables.grant_table_encryption(),
                grant_invoke("InvokeValidationAndFraud", [self.validation, self.fraud]),
                statement("PublishFailedTransactions", ["sns:Publish"], [self.topic_arn]),
                # The topic is encrypted with the messaging key: a publisher needs a data key from it.
                statement(
                    "EncryptFailedTransactions",
                    ["kms:Decrypt", "kms:GenerateDataKey"],
                    [self.foundation.key_arn("messaging")],
                ),
            ],
        )

    def _publish_parameters(self) -> ConfigParameters:
        parameters = ConfigParameters(
            self, "parameters", environment=self.config.environment, key_arn=self.foundation.key_arn("parameters")
        )
        # Unqualified: transaction_processing calls the alias of the slot it was itself invoked through, so a
        # request the ALB sends to the blue slot is validated and scored by blue code too.
        parameters.string(
            ssm.PAYMENT_VALIDATION_FUNCTION,
            self.validation.function_name,
            "Validation function transaction_processing invokes (qualified with the caller's own slot alias)",
        )
        parameters.string(
            ssm.FRAUD_DETECTION_FUNCTION,
            self.fraud.function_name,
            "Fraud function transaction_processing invokes (qualified with the caller's own slot alias)",
        )
        parameters.string(
            ssm.FAILED_TRANSACTIONS_TOPIC_ARN,
            self.topic_arn,
            "Topic receiving failed transactions (created by the monitoring stack)",
        )
        traffic = {
            slot: {"kind": spec.kind, "weight": spec.weight}
            for slot, spec in (("blue", self.config.compute.blue), ("green", self.config.compute.green))
        }
        parameters.document(ssm.TRAFFIC_WEIGHTS, traffic, "Blue/green weights in force at the ALB (mirror)")
        return parameters

    def _build_alb(self, data: DataStack) -> BlueGreenAlb:
        config = self.config
        vpn = config.compute.vpn
        return BlueGreenAlb(
            self,
            "alb",
            config=config.compute,
            name_prefix=self.name_prefix,
            network=AlbNetwork(
                vpc_id=self.foundation.vpc.vpc_id,
                subnet_ids=self.foundation.vpc.subnet_ids("private"),
                client_cidrs=config.network.private_subnets,
                onprem_cidrs=vpn.onprem_cidrs if vpn else (),
            ),
            entry_function=self.processing,
            access_log_bucket=data.logs.service_logs_name,
            access_log_prefix=LogArchive.ALB_LOG_PREFIX,
            web_acl_arn=self.web_acl.arn,
            deletion_protection=config.is_prod,
        )

    def functions(self) -> tuple[PaymentFunction, ...]:
        """The payment functions, in the order of the payment path's calls."""
        return (self.validation, self.fraud, self.processing)

    def _outputs(self) -> None:
        self.output("alb_arn", self.alb.arn, "Internal ALB (blue/green)")
        self.output("alb_dns_name", self.alb.dns_name, "Internal ALB DNS name")
        for slot in SLOTS:
            self.output(f"target_group_{slot}_arn", self.alb.target_group_arn(slot), f"{slot} target group")
        for function in self.functions():
            name = function.name
            self.output(f"{name}_function_arn", function.arn, f"{name} function ARN")
            for slot in SLOTS:
                self.output(f"{name}_{slot}_alias_arn", function.alias_arn(slot), f"{name} {slot} alias ARN")
