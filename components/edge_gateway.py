"""The regional edge gateway: the `edge-gateway` Service the NLB's TargetGroupBinding registers, and what serves it.

Envoy Gateway (a pinned ``helm.v3.Release`` of its controller, in the ``ingress`` namespace) runs the Envoy
fleet from Gateway API objects declared here: one HTTPS listener on 8443 that terminates TLS with the
Cloudflare Origin CA certificate the global stack issues (Full (strict) trusts it), requires Cloudflare's
authenticated-origin-pull client certificate, answers the load balancers' health path itself, and routes the
platform's two hostnames to the application Service in ``apps``.

Why Envoy Gateway and not ingress-nginx: the community ingress-nginx controller was retired in March 2026
(Kubernetes SIG Network and the Security Response Committee: no releases or security fixes after it); Envoy
Gateway is an actively released Gateway API implementation (the Kubernetes project's successor to Ingress)
with a published per-minor Kubernetes compatibility matrix, whose EnvoyProxy API exposes everything the
house style asks of a workload (replicas, HPA, PDB, spread, node selector, security contexts, the Service's
name and type).

The application contract: ``api.<domain>`` and ``hooks.<domain>`` are served by the Service ``api`` in the
``apps`` namespace on port 8080 (plain HTTP inside the cluster; the Host header says which name was asked
for). The gateway answers the health path on both names without asking the application.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_cloudflare as cf
import pulumi_kubernetes as k8s
import pulumi_tls as tls

from components.ingress import GATEWAY_NAMESPACE, GATEWAY_PORT, GATEWAY_SERVICE
from regions.eks_versions import HelmChart

NAMESPACE = GATEWAY_NAMESPACE
RELEASE = "envoy-gateway"  # the controller's Helm release (its Deployment and Service are named after the chart)
CONTROLLER_NAME = "gateway.envoyproxy.io/gatewayclass-controller"
GATEWAY_CLASS = "edge-gateway"
GATEWAY = "edge"
LISTENER = "https"
TLS_SECRET = "edge-origin-tls"
ORIGIN_PULL_CA = "cloudflare-origin-pull-ca"  # ConfigMap holding Cloudflare's AOP CA under `ca.crt`
HEALTH_FILTER = "edge-health"
# The application contract (module docstring): both hostnames go to this Service.
APP_NAMESPACE = "apps"
APP_SERVICE = "api"
APP_PORT = 8080
MONITORING_NAMESPACE = "monitoring"
ENVOY_USER = 65532  # the distroless Envoy image's and Envoy Gateway's non-root user
ENVOY_STATS_PORT = 19001  # Envoy Gateway's Prometheus endpoint on every proxy
XDS_PORT = 18000  # the controller's xDS server the proxies connect to
# Labels Envoy Gateway puts on the proxy pods of one Gateway (internal/infrastructure/kubernetes/proxy).
PROXY_LABELS = {
    "app.kubernetes.io/name": "envoy",
    "app.kubernetes.io/component": "proxy",
    "app.kubernetes.io/managed-by": "envoy-gateway",
    "gateway.envoyproxy.io/owning-gateway-name": GATEWAY,
    "gateway.envoyproxy.io/owning-gateway-namespace": NAMESPACE,
}
# The controller pods of the release (the chart's selector labels: chart name and release name).
CONTROLLER_LABELS = {"app.kubernetes.io/name": "gateway-helm", "app.kubernetes.io/instance": RELEASE}

# Cloudflare's authenticated-origin-pull CA: the shared Cloudflare certificate that global/zone-level AOP
# presents is signed by it (developers.cloudflare.com/ssl/origin-configuration/authenticated-origin-pull/
# set-up/global/, "Download the Cloudflare certificate": /ssl/static/authenticated_origin_pull_ca.pem;
# CN origin-pull.cloudflare.net, valid 2019-10-10 to 2029-11-01). Not the Origin CA that signs the
# gateway's own certificate.
# SHA-256 fingerprint 9A:1A:C2:B4:BE:15:F9:F2:7E:EE:20:A7:34:CB:A4:E9:89:8F:61:00:1B:3B:D7:C8:4B:69:B5:6A:3E:25:A2:B9.
ORIGIN_PULL_CA_PEM = (
    "-----BEGIN CERTIFICATE-----\n"
    "MIIGCjCCA/KgAwIBAgIIV5G6lVbCLmEwDQYJKoZIhvcNAQENBQAwgZAxCzAJBgNV\n"
    "BAYTAlVTMRkwFwYDVQQKExBDbG91ZEZsYXJlLCBJbmMuMRQwEgYDVQQLEwtPcmln\n"
    "aW4gUHVsbDEWMBQGA1UEBxMNU2FuIEZyYW5jaXNjbzETMBEGA1UECBMKQ2FsaWZv\n"
    "cm5pYTEjMCEGA1UEAxMab3JpZ2luLXB1bGwuY2xvdWRmbGFyZS5uZXQwHhcNMTkx\n"
    "MDEwMTg0NTAwWhcNMjkxMTAxMTcwMDAwWjCBkDELMAkGA1UEBhMCVVMxGTAXBgNV\n"
    "BAoTEENsb3VkRmxhcmUsIEluYy4xFDASBgNVBAsTC09yaWdpbiBQdWxsMRYwFAYD\n"
    "VQQHEw1TYW4gRnJhbmNpc2NvMRMwEQYDVQQIEwpDYWxpZm9ybmlhMSMwIQYDVQQD\n"
    "ExpvcmlnaW4tcHVsbC5jbG91ZGZsYXJlLm5ldDCCAiIwDQYJKoZIhvcNAQEBBQAD\n"
    "ggIPADCCAgoCggIBAN2y2zojYfl0bKfhp0AJBFeV+jQqbCw3sHmvEPwLmqDLqynI\n"
    "42tZXR5y914ZB9ZrwbL/K5O46exd/LujJnV2b3dzcx5rtiQzso0xzljqbnbQT20e\n"
    "ihx/WrF4OkZKydZzsdaJsWAPuplDH5P7J82q3re88jQdgE5hqjqFZ3clCG7lxoBw\n"
    "hLaazm3NJJlUfzdk97ouRvnFGAuXd5cQVx8jYOOeU60sWqmMe4QHdOvpqB91bJoY\n"
    "QSKVFjUgHeTpN8tNpKJfb9LIn3pun3bC9NKNHtRKMNX3Kl/sAPq7q/AlndvA2Kw3\n"
    "Dkum2mHQUGdzVHqcOgea9BGjLK2h7SuX93zTWL02u799dr6Xkrad/WShHchfjjRn\n"
    "aL35niJUDr02YJtPgxWObsrfOU63B8juLUphW/4BOjjJyAG5l9j1//aUGEi/sEe5\n"
    "lqVv0P78QrxoxR+MMXiJwQab5FB8TG/ac6mRHgF9CmkX90uaRh+OC07XjTdfSKGR\n"
    "PpM9hB2ZhLol/nf8qmoLdoD5HvODZuKu2+muKeVHXgw2/A6wM7OwrinxZiyBk5Hh\n"
    "CvaADH7PZpU6z/zv5NU5HSvXiKtCzFuDu4/Zfi34RfHXeCUfHAb4KfNRXJwMsxUa\n"
    "+4ZpSAX2G6RnGU5meuXpU5/V+DQJp/e69XyyY6RXDoMywaEFlIlXBqjRRA2pAgMB\n"
    "AAGjZjBkMA4GA1UdDwEB/wQEAwIBBjASBgNVHRMBAf8ECDAGAQH/AgECMB0GA1Ud\n"
    "DgQWBBRDWUsraYuA4REzalfNVzjann3F6zAfBgNVHSMEGDAWgBRDWUsraYuA4REz\n"
    "alfNVzjann3F6zANBgkqhkiG9w0BAQ0FAAOCAgEAkQ+T9nqcSlAuW/90DeYmQOW1\n"
    "QhqOor5psBEGvxbNGV2hdLJY8h6QUq48BCevcMChg/L1CkznBNI40i3/6heDn3IS\n"
    "zVEwXKf34pPFCACWVMZxbQjkNRTiH8iRur9EsaNQ5oXCPJkhwg2+IFyoPAAYURoX\n"
    "VcI9SCDUa45clmYHJ/XYwV1icGVI8/9b2JUqklnOTa5tugwIUi5sTfipNcJXHhgz\n"
    "6BKYDl0/UP0lLKbsUETXeTGDiDpxZYIgbcFrRDDkHC6BSvdWVEiH5b9mH2BON60z\n"
    "0O0j8EEKTwi9jnafVtZQXP/D8yoVowdFDjXcKkOPF/1gIh9qrFR6GdoPVgB3SkLc\n"
    "5ulBqZaCHm563jsvWb/kXJnlFxW+1bsO9BDD6DweBcGdNurgmH625wBXksSdD7y/\n"
    "fakk8DagjbjKShYlPEFOAqEcliwjF45eabL0t27MJV61O/jHzHL3dknXeE4BDa2j\n"
    "bA+JbyJeUMtU7KMsxvx82RmhqBEJJDBCJ3scVptvhDMRrtqDBW5JShxoAOcpFQGm\n"
    "iYWicn46nPDjgTU0bX1ZPpTpryXbvciVL5RkVBuyX2ntcOLDPlZWgxZCBp96x07F\n"
    "AnOzKgZk4RzZPNAxCXERVxajn/FLcOhglVAKo5H0ac+AitlQ0ip55D2/mf8o72tM\n"
    "fVQ6VpyjEXdiIXWUq/o=\n"
    "-----END CERTIFICATE-----\n"
)

# Origin CA certificate validity (days; Cloudflare accepts 7, 30, 90, 365, 730, 1095, 5475). Renewal is a
# `pulumi up` of the global stack with the certificate replaced, then of every cluster stack.
ORIGIN_CERTIFICATE_DAYS = 1095


@dataclass(frozen=True)
class OriginCertificate:
    certificate: pulumi.Output[str]
    private_key: pulumi.Output[str]  # a secret


def origin_certificate(name: str, hostnames: Sequence[str], opts: pulumi.ResourceOptions) -> OriginCertificate:
    """A Cloudflare Origin CA certificate for the platform's hostnames; the ECDSA key never leaves Pulumi."""
    key = tls.PrivateKey(f"{name}-origin", algorithm="ECDSA", ecdsa_curve="P256", opts=opts)
    request = tls.CertRequest(f"{name}-origin", private_key_pem=key.private_key_pem, dns_names=list(hostnames),
                              subject=tls.CertRequestSubjectArgs(common_name=hostnames[0]), opts=opts)
    cert = cf.OriginCaCertificate(f"{name}-origin", csr=request.cert_request_pem, hostnames=list(hostnames),
                                  request_type="origin-ecc", requested_validity=ORIGIN_CERTIFICATE_DAYS, opts=opts)
    return OriginCertificate(certificate=cert.certificate.apply(lambda c: c or ""),
                             private_key=pulumi.Output.secret(key.private_key_pem))


@dataclass(frozen=True)
class EdgeGatewayArgs:
    short_code: str
    chart: HelmChart
    system_node_group: str  # the controller runs with the other platform controllers
    node_group: str  # the Envoy fleet runs on the workload nodes (the group the NLB's security group reaches)
    hostnames: Sequence[pulumi.Input[str]]  # the api and webhook hostnames, from the global stack
    health_path: str  # what the Cloudflare monitors request (manifest edge.health_path)
    origin_certificate: pulumi.Input[str]  # PEM, from the global stack
    origin_private_key: pulumi.Input[str]  # PEM, a secret from the global stack
    vpc_cidr: str  # where the NLB's nodes connect from (client IP preservation is off for ip targets)
    min_replicas: int
    max_replicas: int
    cpu: str = "500m"  # each replica's request
    memory: str = "1Gi"  # each replica's request and limit: the connections it can hold


class EdgeGateway(pulumi.ComponentResource):
    def __init__(self, name: str, args: EdgeGatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:ingress:EdgeGateway", name, None, opts)
        self.args = args
        child = pulumi.ResourceOptions(parent=self)
        prefix = f"{args.short_code}-edge-gateway"
        if args.min_replicas < 2 or args.max_replicas < args.min_replicas:
            raise ValueError(f"edge gateway replicas {args.min_replicas}..{args.max_replicas}: at least 2, min <= max")

        self.release = self._release(prefix, child)
        after = pulumi.ResourceOptions(parent=self, depends_on=[self.release])
        self.tls_secret = k8s.core.v1.Secret(
            f"{prefix}-tls", metadata=self._meta(TLS_SECRET), type="kubernetes.io/tls",
            string_data={"tls.crt": args.origin_certificate,
                         "tls.key": pulumi.Output.secret(args.origin_private_key)}, opts=child)
        self.client_ca = k8s.core.v1.ConfigMap(
            f"{prefix}-origin-pull-ca", metadata=self._meta(ORIGIN_PULL_CA), data={"ca.crt": ORIGIN_PULL_CA_PEM},
            opts=child)
        self.proxy_config = self._custom(f"{prefix}-proxy", "gateway.envoyproxy.io/v1alpha1", "EnvoyProxy",
                                         GATEWAY_CLASS, self._proxy_spec(), after)
        self.gateway_class = k8s.apiextensions.CustomResource(
            f"{prefix}-class", api_version="gateway.networking.k8s.io/v1", kind="GatewayClass",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=GATEWAY_CLASS),
            spec={"controllerName": CONTROLLER_NAME, "parametersRef": {
                "group": "gateway.envoyproxy.io", "kind": "EnvoyProxy", "name": GATEWAY_CLASS, "namespace": NAMESPACE}},
            opts=pulumi.ResourceOptions.merge(after, pulumi.ResourceOptions(depends_on=[self.proxy_config])))
        self.gateway = self._custom(f"{prefix}-gateway", "gateway.networking.k8s.io/v1", "Gateway", GATEWAY, {
            "gatewayClassName": GATEWAY_CLASS,
            "listeners": [{
                "name": LISTENER, "protocol": "HTTPS", "port": GATEWAY_PORT,
                "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": TLS_SECRET}]},
                "allowedRoutes": {"namespaces": {"from": "Same"}},
            }],
        }, pulumi.ResourceOptions.merge(after, pulumi.ResourceOptions(depends_on=[self.gateway_class,
                                                                                  self.tls_secret])))
        self.client_validation = self._client_validation(prefix, after)
        self.health_filter = self._custom(f"{prefix}-health", "gateway.envoyproxy.io/v1alpha1", "HTTPRouteFilter",
                                          HEALTH_FILTER, {"directResponse": {
                                              "contentType": "text/plain", "statusCode": 200,
                                              "body": {"type": "Inline", "inline": "ok\n"}}}, after)
        self.route = self._route(prefix, after)
        self.reference_grant = k8s.apiextensions.CustomResource(
            f"{prefix}-to-apps", api_version="gateway.networking.k8s.io/v1beta1", kind="ReferenceGrant",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="edge-gateway-routes", namespace=APP_NAMESPACE),
            spec={"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": NAMESPACE}],
                  "to": [{"group": "", "kind": "Service", "name": APP_SERVICE}]},
            opts=after)
        self.network_policies = self._network_policies(prefix, child)
        self.register_outputs({"service": GATEWAY_SERVICE, "port": GATEWAY_PORT})

    # -- pieces ---------------------------------------------------------------------------------------

    @staticmethod
    def _meta(name: str) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(name=name, namespace=NAMESPACE,
                                          labels={"app.kubernetes.io/part-of": "global-platform"})

    def _custom(self, resource_name: str, api_version: str, kind: str, name: str, spec: dict[str, Any],
                opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
        return k8s.apiextensions.CustomResource(resource_name, api_version=api_version, kind=kind,
                                                metadata=self._meta(name), spec=spec, opts=opts)

    def _release(self, prefix: str, opts: pulumi.ResourceOptions) -> k8s.helm.v3.Release:
        """The Envoy Gateway controller (and the Gateway API and Envoy Gateway CRDs it ships), on system nodes."""
        chart = self.args.chart
        return k8s.helm.v3.Release(
            prefix, name=RELEASE,
            chart=f"{chart.repository}/{chart.chart}",  # an OCI chart: no repository index to name
            version=chart.version, namespace=NAMESPACE,
            values={
                "deployment": {
                    "replicas": 2,
                    "priorityClassName": "system-cluster-critical",
                    "pod": {
                        "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
                        "nodeSelector": {"eks.amazonaws.com/nodegroup": self.args.system_node_group},
                        "topologySpreadConstraints": [{
                            "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": CONTROLLER_LABELS}}],
                    },
                },
                "podDisruptionBudget": {"minAvailable": 1},
                "config": {"envoyGateway": {
                    "gateway": {"controllerName": CONTROLLER_NAME},
                    # The proxies live in the controller's namespace (ingress), beside the TargetGroupBinding.
                    "provider": {"type": "Kubernetes"},
                    "logging": {"level": {"default": "info"}},
                }},
            },
            atomic=True, cleanup_on_fail=True, max_history=10, timeout=600, opts=opts)

    def _proxy_spec(self) -> dict[str, Any]:
        """The Envoy fleet: the Service the NLB binds, replicas, HPA, PDB, spread, restricted security contexts."""
        args = self.args
        restricted = {"allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True,
                      "runAsNonRoot": True, "runAsUser": ENVOY_USER, "runAsGroup": ENVOY_USER,
                      "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
        selector = {"matchLabels": {k: PROXY_LABELS[k] for k in (
            "app.kubernetes.io/name", "gateway.envoyproxy.io/owning-gateway-name",
            "gateway.envoyproxy.io/owning-gateway-namespace")}}
        spread = [{"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": mode, "labelSelector": selector}
                  for key, mode in (("topology.kubernetes.io/zone", "DoNotSchedule"),
                                    ("kubernetes.io/hostname", "ScheduleAnyway"))]
        return {"provider": {"type": "Kubernetes", "kubernetes": {
            "envoyDeployment": {
                "replicas": args.min_replicas,
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
                "pod": {
                    "nodeSelector": {"eks.amazonaws.com/nodegroup": args.node_group},
                    "topologySpreadConstraints": spread,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": ENVOY_USER, "runAsGroup": ENVOY_USER,
                                        "fsGroup": ENVOY_USER, "seccompProfile": {"type": "RuntimeDefault"}},
                    # Envoy's scratch space, since its root filesystem is read-only.
                    "volumes": [{"name": "envoy-tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}}],
                },
                "container": {
                    "resources": {"requests": {"cpu": args.cpu, "memory": args.memory},
                                  "limits": {"memory": args.memory}},
                    "securityContext": restricted,
                    "volumeMounts": [{"name": "envoy-tmp", "mountPath": "/tmp"}],
                },
            },
            # The Service the NLB's TargetGroupBinding names (components/ingress.py): ClusterIP, port 8443.
            "envoyService": {"name": GATEWAY_SERVICE, "type": "ClusterIP"},
            "envoyHpa": {
                "minReplicas": args.min_replicas, "maxReplicas": args.max_replicas,
                "metrics": [{"type": "Resource", "resource": {
                    "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}],
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 600}},
            },
            "envoyPDB": {"maxUnavailable": 1},
        }}}

    def _client_validation(self, prefix: str, opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
        """Only Cloudflare gets a TLS session: its origin-pull client certificate is required and verified.

        The load balancers' health monitors present it too, because the monitor names the zone in
        ``probe_zone`` (components/edge.py): "Simulate Zone ... changes the egress zone settings of a health
        monitor request to ensure compatibility with features like Authenticated Origin Pulls (mTLS)"
        (developers.cloudflare.com/learning-paths/load-balancing/setup/create-monitor/, 2026-04-23). Without
        it, monitors connect without the zone's settings and this gateway refuses them.
        """
        return self._custom(f"{prefix}-mtls", "gateway.envoyproxy.io/v1alpha1", "ClientTrafficPolicy", GATEWAY, {
            "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": GATEWAY}],
            "tls": {
                "minVersion": "1.2",
                "clientValidation": {
                    "mode": "RequireAndVerify",
                    "caCertificateRefs": [{"group": "", "kind": "ConfigMap", "name": ORIGIN_PULL_CA}],
                },
            },
        }, pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[self.client_ca])))

    def _route(self, prefix: str, opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
        """The health path answered by the gateway (an exact match outranks the prefix), everything else to apps."""
        return self._custom(f"{prefix}-route", "gateway.networking.k8s.io/v1", "HTTPRoute", GATEWAY, {
            "parentRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": GATEWAY,
                            "sectionName": LISTENER}],
            "hostnames": list(self.args.hostnames),
            "rules": [
                {"matches": [{"path": {"type": "Exact", "value": self.args.health_path}}],
                 "filters": [{"type": "ExtensionRef", "extensionRef": {
                     "group": "gateway.envoyproxy.io", "kind": "HTTPRouteFilter", "name": HEALTH_FILTER}}]},
                {"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                 "backendRefs": [{"group": "", "kind": "Service", "name": APP_SERVICE, "namespace": APP_NAMESPACE,
                                  "port": APP_PORT}]},
            ],
        }, pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[self.gateway, self.health_filter])))

    def _network_policies(self, prefix: str, opts: pulumi.ResourceOptions) -> list[k8s.networking.v1.NetworkPolicy]:
        """The proxies: in from the VPC (the NLB) on 8443 and from monitoring; out to apps, the controller, DNS."""
        np = k8s.networking.v1

        def namespace(name: str, pods: dict[str, str] | None = None) -> k8s.networking.v1.NetworkPolicyPeerArgs:
            return np.NetworkPolicyPeerArgs(
                namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"kubernetes.io/metadata.name": name}),
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=pods) if pods else None)

        def tcp(port: int) -> k8s.networking.v1.NetworkPolicyPortArgs:
            return np.NetworkPolicyPortArgs(protocol="TCP", port=port)

        selector = k8s.meta.v1.LabelSelectorArgs(match_labels=PROXY_LABELS)
        ingress = np.NetworkPolicy(
            f"{prefix}-ingress", metadata=self._meta("edge-gateway-ingress"),
            spec=np.NetworkPolicySpecArgs(pod_selector=selector, policy_types=["Ingress"], ingress=[
                # The NLB's nodes (ip targets, no client IP preservation): its security group admits Cloudflare only.
                np.NetworkPolicyIngressRuleArgs(from_=[np.NetworkPolicyPeerArgs(
                    ip_block=np.IPBlockArgs(cidr=self.args.vpc_cidr))], ports=[tcp(GATEWAY_PORT)]),
                np.NetworkPolicyIngressRuleArgs(from_=[namespace(MONITORING_NAMESPACE)], ports=[tcp(ENVOY_STATS_PORT)]),
            ]), opts=opts)
        egress = np.NetworkPolicy(
            f"{prefix}-egress", metadata=self._meta("edge-gateway-egress"),
            spec=np.NetworkPolicySpecArgs(pod_selector=selector, policy_types=["Egress"], egress=[
                np.NetworkPolicyEgressRuleArgs(to=[namespace(APP_NAMESPACE)], ports=[tcp(APP_PORT)]),
                np.NetworkPolicyEgressRuleArgs(to=[namespace(NAMESPACE, CONTROLLER_LABELS)], ports=[tcp(XDS_PORT)]),
                np.NetworkPolicyEgressRuleArgs(
                    to=[namespace("kube-system", {"k8s-app": "kube-dns"})],
                    ports=[np.NetworkPolicyPortArgs(protocol=p, port=53) for p in ("UDP", "TCP")]),
            ]), opts=opts)
        return [ingress, egress]
