"""What every cluster runs before any application: namespaces, policies, storage and the platform controllers.

Controllers are ``helm.v3.Release`` resources (their inputs are visible to previews and tests), all on the
tainted system nodes; each one's Pod Identity role is made beforehand by the region's infra stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.controller_identities import AUTOSCALER_ACCOUNT, LB_CONTROLLER_ACCOUNT
from components.pod_identity import ClusterRef
from regions.eks_versions import HelmChart

# Namespaces of the platform and the Pod Security Standard each enforces. Application and data namespaces
# run only restricted pods; default-deny network policies isolate the data namespace.
NAMESPACES: dict[str, str] = {"apps": "restricted", "data": "restricted", "ingress": "restricted"}
DATA_NAMESPACES = ("data",)
SYSTEM_NAMESPACE = "kube-system"
# The default StorageClass: gp3 volumes encrypted with the region's EBS key (what Prometheus claims).
STORAGE_CLASS = "gp3-encrypted"
DNS_PORT = 53


@dataclass(frozen=True)
class BaselineArgs:
    cluster: ClusterRef
    region: str
    kubernetes_version: str
    cluster_name: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    ebs_key_arn: pulumi.Input[str]
    system_node_group: str  # EKS node group name the controllers are pinned to
    charts: dict[str, HelmChart]
    protect: bool


class KubernetesBaseline(pulumi.ComponentResource):
    def __init__(self, name: str, args: BaselineArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:kubernetes:Baseline", name, None, opts)
        self.args = args
        child = pulumi.ResourceOptions(parent=self)
        self.namespaces = {ns: self._namespace(ns, level, child) for ns, level in NAMESPACES.items()}
        self.network_policies = [p for ns in DATA_NAMESPACES for p in self._isolate(ns)]
        self.storage_class = self._storage_class(child)
        self.releases: dict[str, k8s.helm.v3.Release] = {}
        self._load_balancer_controller(child)
        self._cluster_autoscaler(child)
        self._metrics_server(child)
        self.register_outputs({})

    # -- namespaces and policies ----------------------------------------------------------------------

    def _namespace(self, namespace: str, level: str, opts: pulumi.ResourceOptions) -> k8s.core.v1.Namespace:
        version = f"v{self.args.kubernetes_version}"
        labels = {"platform/managed": "true"}
        for mode in ("enforce", "audit", "warn"):
            labels[f"pod-security.kubernetes.io/{mode}"] = level
            labels[f"pod-security.kubernetes.io/{mode}-version"] = version
        return k8s.core.v1.Namespace(
            f"{self.args.cluster.short_code}-ns-{namespace}",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=namespace, labels=labels), opts=opts)

    def _isolate(self, namespace: str) -> list[k8s.networking.v1.NetworkPolicy]:
        """Deny every packet in and out of the namespace, except DNS lookups; services open what they need."""
        prefix = f"{self.args.cluster.short_code}-{namespace}"
        opts = pulumi.ResourceOptions(parent=self.namespaces[namespace])
        deny = k8s.networking.v1.NetworkPolicy(
            f"{prefix}-default-deny",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="default-deny", namespace=namespace),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(), policy_types=["Ingress", "Egress"]),
            opts=opts)
        dns = k8s.networking.v1.NetworkPolicy(
            f"{prefix}-allow-dns",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="allow-dns", namespace=namespace),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(),
                policy_types=["Egress"],
                egress=[k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    to=[k8s.networking.v1.NetworkPolicyPeerArgs(
                        namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                            match_labels={"kubernetes.io/metadata.name": SYSTEM_NAMESPACE}),
                        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"k8s-app": "kube-dns"}))],
                    ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol=p, port=DNS_PORT) for p in ("UDP", "TCP")],
                )]),
            opts=opts)
        return [deny, dns]

    def _storage_class(self, opts: pulumi.ResourceOptions) -> k8s.storage.v1.StorageClass:
        """The default class: encrypted gp3 under the region's EBS key; prod keeps volumes of deleted claims."""
        return k8s.storage.v1.StorageClass(
            f"{self.args.cluster.short_code}-gp3",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=STORAGE_CLASS, annotations={"storageclass.kubernetes.io/is-default-class": "true"}),
            provisioner="ebs.csi.aws.com",
            parameters=pulumi.Output.from_input(self.args.ebs_key_arn).apply(
                lambda arn: {"type": "gp3", "encrypted": "true", "kmsKeyId": arn, "csi.storage.k8s.io/fstype": "ext4"}),
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            reclaim_policy="Retain" if self.args.protect else "Delete",
            opts=opts)

    # -- controllers ----------------------------------------------------------------------------------

    def _on_system_nodes(self) -> dict[str, Any]:
        return {
            "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
            "nodeSelector": {"eks.amazonaws.com/nodegroup": self.args.system_node_group},
            "priorityClassName": "system-cluster-critical",
        }

    def _release(self, chart: str, values: dict[str, Any], opts: pulumi.ResourceOptions) -> k8s.helm.v3.Release:
        pinned = self.args.charts[chart]
        release = k8s.helm.v3.Release(
            f"{self.args.cluster.short_code}-{chart}",
            name=chart,
            chart=pinned.chart,
            version=pinned.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=pinned.repository),
            namespace=SYSTEM_NAMESPACE,
            values=values,
            atomic=True,  # a failed upgrade rolls back instead of leaving a half-applied controller
            cleanup_on_fail=True,
            max_history=10,
            timeout=600,
            opts=opts)
        self.releases[chart] = release
        return release

    def _load_balancer_controller(self, opts: pulumi.ResourceOptions) -> None:
        # Its Pod Identity role and association live in the region's infra stack (controller_identities.py).
        self._release("aws-load-balancer-controller", {
            "clusterName": self.args.cluster.name,
            "region": self.args.region,  # given explicitly: IMDS is out of reach of pods (hop limit 1)
            "vpcId": self.args.vpc_id,
            "replicaCount": 2,
            "serviceAccount": {"create": True, "name": LB_CONTROLLER_ACCOUNT},
            # Services of type LoadBalancer are not silently turned into NLBs; the edge NLB is declared in code.
            "enableServiceMutatorWebhook": False,
            **self._on_system_nodes(),
        }, opts)

    def _cluster_autoscaler(self, opts: pulumi.ResourceOptions) -> None:
        cluster = self.args.cluster
        self._release("cluster-autoscaler", {
            "cloudProvider": "aws",
            "awsRegion": self.args.region,
            "autoDiscovery": {"clusterName": cluster.name},
            "rbac": {"serviceAccount": {"create": True, "name": AUTOSCALER_ACCOUNT}},
            "extraArgs": {"balance-similar-node-groups": "true", "expander": "least-waste",
                          "skip-nodes-with-system-pods": "true"},
            "replicaCount": 1,  # leader-elected; a second replica only waits
            **self._on_system_nodes(),
        }, opts)

    def _metrics_server(self, opts: pulumi.ResourceOptions) -> None:
        self._release("metrics-server", {
            "replicas": 2,
            "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
            **self._on_system_nodes(),
        }, opts)
