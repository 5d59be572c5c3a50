"""SPEC §14.4 on Kubernetes: SCRAM over TLS, one KafkaUser per service with least-privilege ACLs, and
NetworkPolicies; each service's ACLs are derived from what its code consumes and publishes."""

from __future__ import annotations

from typing import Any

import pytest

from services.allocation import consumers as allocation_consumers
from services.allocation.settings import AllocationSettings, Policy
from services.notifications import consumers as notifications_consumers
from services.requests import consumers as requests_consumers
from tests.deploy.kustomize import kustomization_dirs, of_kind, pod_templates, render
from tests.deploy.settings_env import DEFAULT_PORTS, SERVICE_NAMES

# What each service publishes (its outbox streams) and consumes: (group, streams) from the code. The
# console consumes nothing and publishes the account events.
PUBLISHES = {
    "console": {"accounts"},
    "requests": {"requests"},
    "allocation": {"inventory", "allocations"},
    "notifications": {"notifications"},
}
SUBSCRIPTIONS: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "console": [],
    **{
        name: [(sub.group, sub.streams) for sub in subs]
        for name, subs in (
            ("requests", [requests_consumers.subscription()]),
            ("allocation", allocation_consumers.subscriptions(Policy.from_settings(AllocationSettings()))),
            ("notifications", [notifications_consumers.subscription()]),
        )
    },
}


@pytest.fixture(scope="module", params=kustomization_dirs(), ids=lambda d: d.name)
def rendered(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(request.param)


def test_kafka_accepts_only_scram_over_tls_with_acls(rendered: list[dict[str, Any]]) -> None:
    (kafka,) = of_kind(rendered, "Kafka")
    listeners = kafka["spec"]["kafka"]["listeners"]
    assert all(listener["tls"] for listener in listeners), "no plaintext listener"
    assert all(listener["authentication"]["type"] == "scram-sha-512" for listener in listeners)
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    assert "userOperator" in kafka["spec"]["entityOperator"]
    for listener in listeners:
        [peer] = listener["networkPolicyPeers"]
        assert peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "vidnova"}


def _acls(user: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (rule["resource"]["type"], rule["resource"]["name"], operation)
        for rule in user["spec"]["authorization"]["acls"]
        for operation in rule["operations"]
        if rule.get("type", "allow") == "allow"
    }


@pytest.mark.parametrize("service", sorted(PUBLISHES))
def test_each_service_user_may_write_its_topics_and_read_what_it_consumes_only(
    rendered: list[dict[str, Any]], service: str
) -> None:
    users = {u["metadata"]["name"]: u for u in of_kind(rendered, "KafkaUser")}
    user = users[f"vidnova-{service}"]
    assert user["spec"]["authentication"]["type"] == "scram-sha-512"
    subscriptions = SUBSCRIPTIONS[service]
    consumed = {stream for _, streams in subscriptions for stream in streams}
    written = {f"vidnova.{s}" for s in PUBLISHES[service]} | {f"vidnova.{s}.dlq" for s in consumed}
    expected = (
        {("topic", t, op) for t in written for op in ("Write", "Describe")}
        | {("topic", f"vidnova.{s}", op) for s in consumed for op in ("Read", "Describe")}
        | {("group", f"vidnova.{group}", "Read") for group, _ in subscriptions}
    )
    assert _acls(user) == expected
    assert all(
        r["resource"].get("patternType", "literal") == "literal"
        for r in user["spec"]["authorization"]["acls"]
    )


def test_each_service_connects_as_its_own_user_trusting_the_cluster_ca(
    rendered: list[dict[str, Any]],
) -> None:
    configmap = next(
        c for c in of_kind(rendered, "ConfigMap") if c["metadata"]["name"].startswith("vidnova-common")
    )
    assert configmap["data"]["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert configmap["data"]["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    ca_path = configmap["data"]["KAFKA_SSL_CAFILE"]
    deployments = [(w, p) for w, p in pod_templates(rendered) if w["kind"] == "Deployment"]
    assert len(deployments) == len(PUBLISHES)
    for workload, pod_spec in deployments:
        [container] = pod_spec["containers"]
        service = workload["metadata"]["name"].removeprefix("vidnova-")
        env = {v["name"]: v for v in container["env"]}
        assert env["KAFKA_SASL_USERNAME"]["value"] == f"vidnova-{service}"
        assert env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": f"vidnova-{service}",
            "key": "password",
        }
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pod_spec["volumes"]}
        assert ca_path.startswith(mounts["kafka-ca"])
        assert volumes["kafka-ca"]["secret"]["secretName"] == "vidnova-cluster-ca-cert"


def test_network_policies_limit_what_the_services_reach(rendered: list[dict[str, Any]]) -> None:
    policies = {p["metadata"]["name"]: p for p in of_kind(rendered, "NetworkPolicy")}
    egress = policies["vidnova-services-egress"]["spec"]
    assert egress["policyTypes"] == ["Egress"]
    ports = {(port["protocol"], port["port"]) for rule in egress["egress"] for port in rule["ports"]}
    assert ports == {("TCP", 9093), ("UDP", 53), ("TCP", 53), ("TCP", 5432)}
    [kafka_rule] = [r for r in egress["egress"] if any(p["port"] == 9093 for p in r["ports"])]
    assert kafka_rule["to"][0]["podSelector"]["matchLabels"]["strimzi.io/cluster"] == "vidnova"
    webhooks = policies["vidnova-notifications-egress"]["spec"]["egress"]
    [public] = [r for r in webhooks if "to" in r]
    assert "169.254.0.0/16" in public["to"][0]["ipBlock"]["except"]  # no cloud metadata endpoint


def test_the_console_reaches_the_services_http_ports_and_they_accept_it(
    rendered: list[dict[str, Any]],
) -> None:
    policies = {p["metadata"]["name"]: p["spec"] for p in of_kind(rendered, "NetworkPolicy")}
    console = policies["vidnova-console-egress"]
    assert console["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "console"
    [to_services] = [r for r in console["egress"] if "podSelector" in r["to"][0]]
    assert {p["port"] for p in to_services["ports"]} == {DEFAULT_PORTS[s] for s in SERVICE_NAMES}
    selector = {e["key"]: set(e["values"]) for e in to_services["to"][0]["podSelector"]["matchExpressions"]}
    assert selector == {
        "app.kubernetes.io/name": {"vidnova"},
        "app.kubernetes.io/component": set(SERVICE_NAMES),
    }
    [identity_provider] = [r for r in console["egress"] if "ipBlock" in r["to"][0]]
    assert {p["port"] for p in identity_provider["ports"]} == {443}
    assert "169.254.0.0/16" in identity_provider["to"][0]["ipBlock"]["except"]
    ingress = policies["vidnova-services-ingress"]
    assert all("from" not in rule for rule in ingress["ingress"]), "the console is a pod like any other"
    assert {p["port"] for rule in ingress["ingress"] for p in rule["ports"]} == set(DEFAULT_PORTS.values())
