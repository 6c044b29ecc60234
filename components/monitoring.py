"""Prometheus, Grafana and the Prometheus Operator on one cluster (kube-prometheus-stack), with the platform's
dashboards and a ServiceMonitor for PgBouncer's exporter.

Grafana reads CloudWatch (Aurora, MSK, ElastiCache) through its own Pod Identity role, read-only; Prometheus
keeps its data on encrypted gp3 volumes for the manifest's retention.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.controller_identities import GRAFANA_ACCOUNT, MONITORING_NAMESPACE
from components.pod_identity import ClusterRef
from regions.eks_versions import HelmChart

NAMESPACE = MONITORING_NAMESPACE
RELEASE = "kube-prometheus-stack"
DASHBOARDS = Path(__file__).parent / "dashboards"
CRITICAL_TOLERATION = {"key": "CriticalAddonsOnly", "operator": "Exists"}


@dataclass(frozen=True)
class MonitoringArgs:
    cluster: ClusterRef
    cluster_name: pulumi.Input[str]
    region: str
    kubernetes_version: str
    chart: HelmChart
    retention_days: int
    storage_gib: int
    storage_class: str
    replicas: int  # Prometheus replicas: 2 in prod so losing a node loses no metrics
    system_node_group: str
    pgbouncer_namespace: str
    protect: bool


class Monitoring(pulumi.ComponentResource):
    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:observability:Monitoring", name, None, opts)
        prefix = f"{args.cluster.short_code}-monitoring"
        child = pulumi.ResourceOptions(parent=self)
        version = f"v{args.kubernetes_version}"
        # node-exporter needs the host's network, PID namespace and filesystem: privileged, audited as baseline.
        self.namespace = k8s.core.v1.Namespace(prefix, metadata=k8s.meta.v1.ObjectMetaArgs(name=NAMESPACE, labels={
            "platform/managed": "true",
            "pod-security.kubernetes.io/enforce": "privileged", "pod-security.kubernetes.io/enforce-version": version,
            "pod-security.kubernetes.io/audit": "baseline", "pod-security.kubernetes.io/audit-version": version,
            "pod-security.kubernetes.io/warn": "baseline", "pod-security.kubernetes.io/warn-version": version}),
            opts=child)
        ns_opts = pulumi.ResourceOptions(parent=self.namespace)
        password = random.RandomPassword(f"{prefix}-grafana-admin", length=32, special=False,
                                         opts=pulumi.ResourceOptions(parent=self, protect=args.protect))
        admin = k8s.core.v1.Secret(
            f"{prefix}-grafana-admin", metadata=k8s.meta.v1.ObjectMetaArgs(name="grafana-admin", namespace=NAMESPACE),
            string_data={"admin-user": "admin", "admin-password": password.result}, opts=ns_opts)
        self.dashboards = k8s.core.v1.ConfigMap(
            f"{prefix}-dashboards",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="platform-dashboards", namespace=NAMESPACE,
                                                labels={"grafana_dashboard": "1"}),
            data={p.name: p.read_text(encoding="utf-8") for p in sorted(DASHBOARDS.glob("*.json"))}, opts=ns_opts)
        # Grafana's CloudWatch-reading Pod Identity role is made by the infra stack (controller_identities.py).
        on_system = {"tolerations": [CRITICAL_TOLERATION],
                     "nodeSelector": {"eks.amazonaws.com/nodegroup": args.system_node_group}}
        pinned = args.chart
        self.release = k8s.helm.v3.Release(
            prefix, name=RELEASE, chart=pinned.chart, version=pinned.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=pinned.repository), namespace=NAMESPACE,
            atomic=True, cleanup_on_fail=True, max_history=10, timeout=900,
            values={
                "prometheusOperator": on_system,
                "prometheus": {"prometheusSpec": {
                    "replicas": args.replicas,
                    "retention": f"{args.retention_days}d",
                    # Select every ServiceMonitor and rule in the cluster, not only this release's.
                    "serviceMonitorSelectorNilUsesHelmValues": False,
                    "podMonitorSelectorNilUsesHelmValues": False,
                    "ruleSelectorNilUsesHelmValues": False,
                    "storageSpec": {"volumeClaimTemplate": {"spec": {
                        "storageClassName": args.storage_class, "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": f"{args.storage_gib}Gi"}}}}},
                    "resources": {"requests": {"cpu": "1", "memory": "4Gi"}},
                }},
                "grafana": {
                    "admin": {"existingSecret": "grafana-admin", "userKey": "admin-user",
                              "passwordKey": "admin-password"},
                    "serviceAccount": {"create": True, "name": GRAFANA_ACCOUNT},
                    "sidecar": {"dashboards": {"enabled": True, "label": "grafana_dashboard",
                                               "searchNamespace": "ALL"}},
                    "additionalDataSources": [{"name": "CloudWatch", "uid": "cloudwatch", "type": "cloudwatch",
                                               "jsonData": {"authType": "default", "defaultRegion": args.region}}],
                    **on_system,
                },
                "kube-state-metrics": on_system,
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[admin, self.dashboards]))
        self.pgbouncer_monitor = k8s.apiextensions.CustomResource(
            f"{prefix}-pgbouncer", api_version="monitoring.coreos.com/v1", kind="ServiceMonitor",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="pgbouncer", namespace=args.pgbouncer_namespace),
            spec={"selector": {"matchLabels": {"app.kubernetes.io/name": "pgbouncer"}},
                  "namespaceSelector": {"matchNames": [args.pgbouncer_namespace]},
                  "endpoints": [{"port": "metrics", "interval": "30s"}]},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.release]))
        self.register_outputs({})
