"""The Pod Identity roles of the in-cluster controllers, made by the region's infra stack (AWS API only).

The cluster stack installs the controllers; their roles and associations exist before it runs, so its
deployer needs no IAM rights. Each role is bound to exactly one namespace/service account.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pulumi

from components.iam import policy_document
from components.pod_identity import ClusterRef, bind, pod_role

SYSTEM_NAMESPACE = "kube-system"
MONITORING_NAMESPACE = "monitoring"
LB_CONTROLLER_ACCOUNT = "aws-load-balancer-controller"
AUTOSCALER_ACCOUNT = "cluster-autoscaler"
GRAFANA_ACCOUNT = "grafana"
_POLICY_DIR = Path(__file__).parent / "iam_policies"


@dataclass(frozen=True)
class ControllerIdentitiesArgs:
    cluster: ClusterRef
    cluster_name: pulumi.Input[str]  # the cluster resource's name output: associations wait for the cluster


class ControllerIdentities(pulumi.ComponentResource):
    def __init__(self, name: str, args: ControllerIdentitiesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:eks:ControllerIdentities", name, None, opts)
        self.args = args
        child = pulumi.ResourceOptions(parent=self)
        policy = (_POLICY_DIR / "aws-load-balancer-controller.json").read_text(encoding="utf-8")
        self._bind("lb-controller", SYSTEM_NAMESPACE, LB_CONTROLLER_ACCOUNT, child,
                   inline_policy=json.dumps(json.loads(policy)))
        self._bind("cluster-autoscaler", SYSTEM_NAMESPACE, AUTOSCALER_ACCOUNT, child,
                   inline_policy=self._autoscaler_policy())
        self._bind("grafana", MONITORING_NAMESPACE, GRAFANA_ACCOUNT, child,
                   managed_policies=("CloudWatchReadOnlyAccess",))
        self.register_outputs({})

    def _bind(self, controller: str, namespace: str, account: str, opts: pulumi.ResourceOptions, *,
              inline_policy: str | None = None, managed_policies: tuple[str, ...] = ()) -> None:
        cluster = self.args.cluster
        role, _ = pod_role(cluster, controller, inline_policy=inline_policy, managed_policies=managed_policies,
                           opts=opts)
        bind(cluster, controller, role, namespace=namespace, service_account=account,
             cluster_name=self.args.cluster_name, opts=pulumi.ResourceOptions(parent=role))

    def _autoscaler_policy(self) -> str:
        cluster = self.args.cluster
        # The AWS provider README's least-privilege policy: scale only this cluster's groups.
        return policy_document([
            {"Sid": "ScaleThisClusterOnly", "Effect": "Allow",
             "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
             "Resource": "*",
             "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster.name}": "owned"}}},
            {"Sid": "Discover", "Effect": "Allow",
             "Action": ["autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
                        "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities",
                        "autoscaling:DescribeTags", "ec2:DescribeImages", "ec2:DescribeInstanceTypes",
                        "ec2:DescribeLaunchTemplateVersions", "ec2:GetInstanceTypesFromInstanceRequirements",
                        "eks:DescribeNodegroup"],
             "Resource": "*"},
        ])
