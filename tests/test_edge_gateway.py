"""The edge gateway behind each region's NLB: the Service the TargetGroupBinding names, TLS, AOP, health, routes."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509
from pulumi.runtime.rpc import is_rpc_secret

from components import edge_gateway as eg
from components.ingress import GATEWAY_NAMESPACE, GATEWAY_PORT, GATEWAY_SERVICE
from offline import environment
from offline.document import SECRET, build_many
from regions.eks_versions import charts_for
from regions.loader import load, manifest_path
from tests.plan_helpers import Doc, of_type

STACK = "dev-us-east-1-cluster"  # the smallest plan holding a gateway and the global stack it reads
REGION = "us-east-1"


@pytest.fixture(params=["prod", "dev"])
def plan(request: pytest.FixtureRequest) -> Doc:
    return request.getfixturevalue(f"{request.param}_plan")


@pytest.fixture(scope="module")
def runs() -> dict[str, Any]:
    planned, _ = environment.plan_named(STACK)
    return {r.stack: r for r in planned}


@pytest.fixture(scope="module")
def doc(runs: dict[str, Any]) -> Doc:
    return build_many([runs[STACK]], STACK, environment.stack_info(environment.layout("dev")))


def _one(plan: Doc, kind: str, region: str) -> dict[str, Any]:
    (found,) = [r for r in plan["resources"] if r["type"].endswith(f":{kind}") and r["region"] == region
                and r["type"].startswith("kubernetes:")]
    return found


def _release(plan: Doc, region: str) -> dict[str, Any]:
    (release,) = [r for r in of_type(plan, "kubernetes:helm.sh/v3:Release", region)
                  if r["inputs"]["chart"].endswith("/gateway-helm")]
    return release


def _unsecret(value: Any) -> Any:
    return value["value"] if is_rpc_secret(value) else value


def test_every_cluster_runs_the_pinned_gateway_whose_service_the_binding_names(plan: Doc) -> None:
    manifest = load(manifest_path(plan["environment"]), plan["environment"])
    for region in manifest.regions:
        name = region.name
        pinned = charts_for(region.eks.kubernetes_version)["gateway-helm"]
        release = _release(plan, name)
        assert release["inputs"]["chart"] == "oci://docker.io/envoyproxy/gateway-helm"
        assert release["inputs"]["version"] == pinned.version and release["inputs"]["namespace"] == GATEWAY_NAMESPACE
        controller = release["inputs"]["values"]["config"]["envoyGateway"]["gateway"]["controllerName"]

        # Release -> GatewayClass (its controller) -> EnvoyProxy (the Service) and Gateway (the port).
        gateway_class = _one(plan, "GatewayClass", name)
        proxy = _one(plan, "EnvoyProxy", name)
        gateway = _one(plan, "Gateway", name)
        assert gateway_class["inputs"]["spec"]["controllerName"] == controller
        ref = gateway_class["inputs"]["spec"]["parametersRef"]
        assert (ref["kind"], ref["name"], ref["namespace"]) == (
            "EnvoyProxy", proxy["inputs"]["metadata"]["name"], proxy["inputs"]["metadata"]["namespace"])
        assert gateway["inputs"]["spec"]["gatewayClassName"] == gateway_class["inputs"]["metadata"]["name"]
        assert gateway["inputs"]["metadata"]["namespace"] == GATEWAY_NAMESPACE
        service = proxy["inputs"]["spec"]["provider"]["kubernetes"]["envoyService"]
        (listener,) = gateway["inputs"]["spec"]["listeners"]

        # Envoy Gateway names the Service from envoyService.name and exposes each listener port as the Service
        # port (and, at 1024 or above, the same container port): that is what the binding and target group use.
        (binding,) = of_type(plan, "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding", name)
        ref = binding["inputs"]["spec"]["serviceRef"]
        assert (ref["name"], ref["port"]) == (service["name"], listener["port"]) == (GATEWAY_SERVICE, GATEWAY_PORT)
        assert service["type"] == "ClusterIP" and binding["inputs"]["spec"]["targetType"] == "ip"
        assert binding["inputs"]["metadata"]["namespace"] == proxy["inputs"]["metadata"]["namespace"]
        (target,) = of_type(plan, "aws:lb/targetGroup:TargetGroup", name)
        assert target["inputs"]["port"] == listener["port"] >= 1024
        assert release["urn"] in binding["dependencies"] and release["urn"] in proxy["dependencies"]


def test_replicas_by_posture_on_the_workload_nodes_spread_over_zones(plan: Doc) -> None:
    protected = plan["environment"] == "prod"
    manifest = load(manifest_path(plan["environment"]), plan["environment"])
    for region in manifest.regions:
        kube = _one(plan, "EnvoyProxy", region.name)["inputs"]["spec"]["provider"]["kubernetes"]
        deployment, hpa = kube["envoyDeployment"], kube["envoyHpa"]
        assert hpa["minReplicas"] == deployment["replicas"] == (3 if protected else 2)
        assert hpa["maxReplicas"] >= hpa["minReplicas"] and hpa["metrics"]
        assert kube["envoyPDB"] == {"maxUnavailable": 1}
        pod, container = deployment["pod"], deployment["container"]
        assert pod["nodeSelector"] == {"eks.amazonaws.com/nodegroup": f"{region.short_code}-workloads"}
        zone = [c for c in pod["topologySpreadConstraints"] if c["topologyKey"] == "topology.kubernetes.io/zone"]
        assert zone and zone[0]["whenUnsatisfiable"] == "DoNotSchedule" and zone[0]["maxSkew"] == 1
        assert zone[0]["labelSelector"]["matchLabels"].items() <= eg.PROXY_LABELS.items()
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
        assert security["capabilities"] == {"drop": ["ALL"]} and security["runAsNonRoot"] is True
        assert container["resources"]["requests"]["cpu"] and container["resources"]["requests"]["memory"]
        # The controller: with the other platform controllers, two replicas under a budget.
        values = _release(plan, region.name)["inputs"]["values"]
        assert values["deployment"]["replicas"] == 2 and values["podDisruptionBudget"] == {"minAvailable": 1}
        assert values["deployment"]["pod"]["nodeSelector"] == {
            "eks.amazonaws.com/nodegroup": f"{region.short_code}-system"}


def test_tls_secret_is_the_global_stacks_secret_origin_certificate(runs: dict[str, Any], doc: Doc) -> None:
    glob = runs["dev-global"]
    assert "edgeOriginCertificate" in glob.secret_exports
    exported = _unsecret(glob.exports["edgeOriginCertificate"])
    (origin,) = [r for r in glob.resources if r.type == "cloudflare:index/originCaCertificate:OriginCaCertificate"]
    hostnames = sorted(_unsecret(glob.exports["edge"]).values())
    assert sorted(origin.inputs["hostnames"]) == hostnames
    assert origin.inputs["requestType"] == "origin-ecc" and origin.inputs["requestedValidity"] in (365, 730, 1095)

    (secret,) = [r for r in runs[STACK].resources
                 if r.type == "kubernetes:core/v1:Secret" and r.inputs["metadata"]["name"] == eg.TLS_SECRET]
    assert secret.inputs["type"] == "kubernetes.io/tls" and secret.inputs["metadata"]["namespace"] == GATEWAY_NAMESPACE
    data = _unsecret(secret.inputs["stringData"])
    assert data == {"tls.crt": exported["certificate"], "tls.key": exported["privateKey"]}
    assert "PRIVATE KEY" in data["tls.key"]
    # Never in clear in the plan document.
    (planned,) = [r for r in of_type(doc, "kubernetes:core/v1:Secret")
                  if r["inputs"]["metadata"]["name"] == eg.TLS_SECRET]
    assert planned["inputs"]["stringData"] == SECRET
    (gateway,) = [r for r in doc["resources"] if r["type"] == "kubernetes:gateway.networking.k8s.io/v1:Gateway"]
    (listener,) = gateway["inputs"]["spec"]["listeners"]
    assert listener["protocol"] == "HTTPS" and listener["tls"]["mode"] == "Terminate"
    assert listener["tls"]["certificateRefs"] == [{"kind": "Secret", "name": eg.TLS_SECRET}]


def test_health_path_answered_by_the_gateway_and_hosts_routed_to_apps(doc: Doc, dev_plan: Doc) -> None:
    manifest = load(manifest_path("dev"), "dev")
    (route,) = [r["inputs"]["spec"] for r in doc["resources"]
                if r["type"] == "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"]
    (health_filter,) = [r["inputs"] for r in doc["resources"]
                        if r["type"] == "kubernetes:gateway.envoyproxy.io/v1alpha1:HTTPRouteFilter"]
    health, app = route["rules"]
    assert health["matches"] == [{"path": {"type": "Exact", "value": manifest.edge.health_path}}]
    assert "backendRefs" not in health  # no application involved
    (ref,) = health["filters"]
    assert ref["extensionRef"]["name"] == health_filter["metadata"]["name"]
    assert health_filter["spec"]["directResponse"]["statusCode"] == 200
    assert app["backendRefs"] == [{"group": "", "kind": "Service", "name": eg.APP_SERVICE,
                                   "namespace": eg.APP_NAMESPACE, "port": eg.APP_PORT}]
    edge = dev_plan["stackOutputs"]["edge"]
    assert sorted(route["hostnames"]) == sorted([edge["api"], edge["webhook"]])
    (grant,) = [r["inputs"] for r in doc["resources"] if r["type"].endswith(":ReferenceGrant")]
    assert grant["metadata"]["namespace"] == eg.APP_NAMESPACE
    assert grant["spec"]["to"] == [{"group": "", "kind": "Service", "name": eg.APP_SERVICE}]
    # The monitor asks for that very path, and the gateway's 200 is what it expects.
    (monitor,) = of_type(dev_plan, "cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor")
    assert monitor["inputs"]["path"] == manifest.edge.health_path and monitor["inputs"]["expectedCodes"] == "200"


def test_cloudflare_client_certificate_required_and_presented_by_the_monitors(doc: Doc, dev_plan: Doc) -> None:
    (policy,) = [r["inputs"]["spec"] for r in doc["resources"] if r["type"].endswith(":ClientTrafficPolicy")]
    assert policy["targetRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": eg.GATEWAY}]
    validation = policy["tls"]["clientValidation"]
    assert validation["mode"] == "RequireAndVerify" and "optional" not in validation
    (ca_ref,) = validation["caCertificateRefs"]
    (ca,) = [r["inputs"] for r in doc["resources"] if r["type"] == "kubernetes:core/v1:ConfigMap"
             and r["inputs"]["metadata"]["name"] == ca_ref["name"]]
    cert = x509.load_pem_x509_certificate(ca["data"]["ca.crt"].encode())
    assert cert.subject.rfc4514_string().startswith("CN=origin-pull.cloudflare.net")
    assert cert.not_valid_after_utc.year == 2029
    # Cloudflare presents the certificate (AOP on), monitors included (they probe as the zone).
    settings = {s["inputs"]["settingId"]: s["inputs"]["value"]
                for s in of_type(dev_plan, "cloudflare:index/zoneSetting:ZoneSetting")}
    assert settings["tls_client_auth"] == "on"
    (pulls,) = of_type(dev_plan, "cloudflare:index/authenticatedOriginPullsSettings:AuthenticatedOriginPullsSettings")
    assert pulls["inputs"]["enabled"] is True
    (monitor,) = of_type(dev_plan, "cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor")
    assert monitor["inputs"]["probeZone"] == "dev.example.com"


def test_network_policies_admit_the_vpc_and_reach_apps_and_dns(doc: Doc) -> None:
    manifest = load(manifest_path("dev"), "dev")
    policies = {p["inputs"]["metadata"]["name"]: p["inputs"]["spec"]
                for p in of_type(doc, "kubernetes:networking.k8s.io/v1:NetworkPolicy")
                if p["inputs"]["metadata"]["namespace"] == GATEWAY_NAMESPACE}
    ingress, egress = policies["edge-gateway-ingress"], policies["edge-gateway-egress"]
    assert ingress["podSelector"]["matchLabels"] == egress["podSelector"]["matchLabels"] == eg.PROXY_LABELS
    from_vpc = ingress["ingress"][0]
    assert from_vpc["from"] == [{"ipBlock": {"cidr": manifest.region(REGION).vpc_cidr}}]
    assert from_vpc["ports"] == [{"protocol": "TCP", "port": GATEWAY_PORT}]
    to = {(peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], port["port"])
          for rule in egress["egress"] for peer in rule["to"] for port in rule["ports"]}
    assert to == {(eg.APP_NAMESPACE, eg.APP_PORT), (GATEWAY_NAMESPACE, eg.XDS_PORT), ("kube-system", 53)}
