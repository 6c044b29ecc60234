"""Secrets Manager rotation of one region's Aurora master secrets, with the AWS-provided rotation function.

Why this and not RDS-managed master passwords (``manage_master_user_password``): RDS refuses them on
members of a global cluster (a global database's secondaries cannot have one, and the primary's would not
follow a switchover), so the program seeds the password and Secrets Manager rotates it with the function
AWS publishes in the Serverless Application Repository, SecretsManagerRDSPostgreSQLRotationSingleUser: it
logs in with the current password and sets a new one (single user: the master has no twin to alternate).

The function runs in the region's data subnets (no route out) with the security group the infra stack admits
on 5432 of the Aurora security group, and calls Secrets Manager through the VPC's interface endpoint. The
secret's replicas in the DR regions follow the primary's new value on their own (Secrets Manager
replicates every version); only the primary has a rotation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

# AWS's own publisher account in the Serverless Application Repository; pinned, so a new template is a reviewed
# change.
ROTATION_APPLICATION = ("arn:aws:serverlessrepo:us-east-1:297356227824:applications/"
                        "SecretsManagerRDSPostgreSQLRotationSingleUser")
ROTATION_APPLICATION_VERSION = "1.1.305"


@dataclass(frozen=True)
class MasterRotationArgs:
    environment: str
    region: str
    short_code: str
    data_subnet_ids: pulumi.Input[Sequence[str]]
    security_group_id: pulumi.Input[str]  # the infra stack's rotation security group (admitted on 5432)
    secrets_key_arn: pulumi.Input[str]  # the key the secrets are encrypted with: the function decrypts with it
    secrets: Mapping[str, aws.secretsmanager.Secret]  # shard group id -> its master secret
    days: int  # the manifest's rotation.master_days


class MasterRotation(pulumi.ComponentResource):
    def __init__(self, name: str, args: MasterRotationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:data:MasterRotation", name, None, opts)
        function = f"{args.environment}-{args.short_code}-aurora-rotation"
        self.function = aws.serverlessrepository.CloudFormationStack(
            f"{args.short_code}-aurora-rotation", name=function, application_id=ROTATION_APPLICATION,
            semantic_version=ROTATION_APPLICATION_VERSION,
            capabilities=["CAPABILITY_IAM", "CAPABILITY_RESOURCE_POLICY"],
            parameters={
                "endpoint": f"https://secretsmanager.{args.region}.amazonaws.com",
                "functionName": function,
                "kmsKeyArn": args.secrets_key_arn,
                "vpcSubnetIds": pulumi.Output.from_input(args.data_subnet_ids).apply(",".join),
                "vpcSecurityGroupIds": args.security_group_id,
            },
            opts=pulumi.ResourceOptions(parent=self))
        lambda_arn = self.function.outputs.apply(lambda o: o["RotationLambdaARN"])
        self.rotations = {
            gid: aws.secretsmanager.SecretRotation(
                f"{gid}-master", secret_id=secret.id, rotation_lambda_arn=lambda_arn,
                rotation_rules=aws.secretsmanager.SecretRotationRotationRulesArgs(
                    automatically_after_days=args.days),
                opts=pulumi.ResourceOptions(parent=secret))
            for gid, secret in args.secrets.items()}
        self.register_outputs({"rotationLambdaArn": lambda_arn})
