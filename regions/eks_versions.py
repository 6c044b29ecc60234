"""Pinned EKS versions: the Kubernetes minors the program supports and, per minor, the add-on versions.

Add-on versions come from `aws eks describe-addon-versions --kubernetes-version <minor>` as published in
the EKS user guide's add-on pages; chart versions from each chart's repository index. Upgrading a minor
means adding its entry here first, then changing the manifest; the manifest rules refuse a minor that has
no entry. Checked 2026-11.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EksRelease:
    kubernetes_version: str
    end_of_standard_support: str  # after this date EKS bills extended support or upgrades the cluster
    addons: dict[str, str]  # EKS managed add-on name -> version
    cluster_autoscaler_chart: str  # the chart whose image matches this minor (the autoscaler tracks minors)
    # Envoy Gateway (the regional edge gateway, components/edge_gateway.py): each minor release lists the
    # Kubernetes minors it supports (gateway.envoyproxy.io "Compatibility Matrix"), so it is pinned per minor.
    envoy_gateway_chart: str


@dataclass(frozen=True)
class HelmChart:
    chart: str
    repository: str
    version: str


# Only minors in standard support at the check date. 1.34 leaves standard support on 2026-12-02: it stays
# listed for clusters mid-upgrade, new manifests pin 1.35. (EKS user guide, "Kubernetes versions".)
EKS_VERSIONS: dict[str, EksRelease] = {
    r.kubernetes_version: r
    for r in (
        EksRelease("1.34", "2026-12-02", {
            "vpc-cni": "v1.22.4-eksbuild.3",
            "coredns": "v1.13.2-eksbuild.11",
            "kube-proxy": "v1.34.6-eksbuild.18",
            "eks-pod-identity-agent": "v1.3.10-eksbuild.3",
            "aws-ebs-csi-driver": "v1.66.0-eksbuild.1",
        }, cluster_autoscaler_chart="9.53.0",  # autoscaler 1.34.2
            envoy_gateway_chart="v1.9.3"),  # Envoy Gateway 1.9 supports Kubernetes 1.33-1.36, EOL 2027-02-14
        EksRelease("1.35", "2027-03-27", {
            "vpc-cni": "v1.22.4-eksbuild.3",
            "coredns": "v1.14.2-eksbuild.4",
            "kube-proxy": "v1.35.3-eksbuild.18",
            "eks-pod-identity-agent": "v1.3.10-eksbuild.3",
            "aws-ebs-csi-driver": "v1.66.0-eksbuild.1",
        }, cluster_autoscaler_chart="9.54.0",  # autoscaler 1.35.x
            envoy_gateway_chart="v1.9.3"),
    )
}

HELM_CHARTS: dict[str, HelmChart] = {
    c.chart: c
    for c in (
        HelmChart("aws-load-balancer-controller", "https://aws.github.io/eks-charts", "3.5.0"),
        HelmChart("metrics-server", "https://kubernetes-sigs.github.io/metrics-server/", "3.14.0"),
        HelmChart("kube-prometheus-stack", "https://prometheus-community.github.io/helm-charts", "85.1.2"),
    )
}

AUTOSCALER_REPOSITORY = "https://kubernetes.github.io/autoscaler"
# Envoy Gateway publishes its chart only as an OCI artifact (gateway.envoyproxy.io, "Install with Helm").
# v1.9.3 (2026-10-03, release-notes/v1.9.3.yaml): Envoy 1.39.2 (CVE-2026-35189), and the shutdown-manager
# works with a read-only root filesystem, which the gateway's pods run with.
ENVOY_GATEWAY_REPOSITORY = "oci://docker.io/envoyproxy"


def charts_for(kubernetes_version: str) -> dict[str, HelmChart]:
    """The pinned charts for a cluster of this minor (the autoscaler's and Envoy Gateway's follow the minor)."""
    release = EKS_VERSIONS[kubernetes_version]
    autoscaler = HelmChart("cluster-autoscaler", AUTOSCALER_REPOSITORY, release.cluster_autoscaler_chart)
    gateway = HelmChart("gateway-helm", ENVOY_GATEWAY_REPOSITORY, release.envoy_gateway_chart)
    return {**HELM_CHARTS, autoscaler.chart: autoscaler, gateway.chart: gateway}
