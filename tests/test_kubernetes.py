"""The Kubernetes manifests in deploy/kubernetes, without a cluster: every object validated against
the Kubernetes schemas (strict, so a misspelled field fails), and the manifests checked against the
Dockerfiles, the settings, the seed config and one another. Needs no database."""

import copy
import json
import math
import random
import re
import shlex
import string
import tomllib
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Any

import kubernetes_validate
import pytest
import yaml
from sqlalchemy.engine import make_url

from api.health import router as health_router
from api.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = ROOT / "deploy" / "kubernetes"
KUSTOMIZATION = "kustomization.yaml"
# Shows the Secrets' shape with placeholders; left out of kustomization.yaml so that applying the
# manifests never overwrites the real Secrets (deploy/kubernetes/README.md).
SECRET_EXAMPLE = "secret.example.yaml"
KUBERNETES_VERSION = "1.31.0"
IMAGE_USER = 10001

# Environment variables the API reads that are not fields of api.settings.Settings (or not yet):
# the admin key and the switch of the access control, the log format, and the signing secret the
# seed notifications name with `secret_env`. Add a name here only with the code that reads it.
EXTRA_API_ENV = {"SLA_ADMIN_KEY", "SLA_LOG_FORMAT", "SLA_AUTH", "SLA_ONCALL_WEBHOOK_SECRET"}

Manifest = dict[str, Any]


def manifest_files() -> list[Path]:
    """Every manifest of Kubernetes objects: all YAML files but the kustomization."""
    return sorted(path for path in MANIFESTS.glob("*.yaml") if path.name != KUSTOMIZATION)


def load(path: Path) -> list[Manifest]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document is not None]


def objects(*, with_example_secrets: bool = False) -> list[Manifest]:
    """The objects `kubectl apply -k` applies, and the example Secrets if asked."""
    return [
        document
        for path in manifest_files()
        if with_example_secrets or path.name != SECRET_EXAMPLE
        for document in load(path)
    ]


def find(kind: str, name: str) -> Manifest:
    (found,) = [
        document
        for document in objects(with_example_secrets=True)
        if document["kind"] == kind and document["metadata"]["name"] == name
    ]
    return found


def of_kind(kind: str) -> list[Manifest]:
    return [document for document in objects() if document["kind"] == kind]


API = ("Deployment", "sla-api")
DASHBOARD = ("Deployment", "sla-dashboard")


def pod_spec(deployment: Manifest) -> dict[str, Any]:
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


def the_container(deployment: Manifest) -> dict[str, Any]:
    (container,) = pod_spec(deployment)["containers"]
    return container  # type: ignore[no-any-return]


def env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    variables = [variable["name"] for variable in container.get("env", [])]
    assert len(variables) == len(set(variables)), f"a variable is set twice: {variables}"
    return {variable["name"]: variable for variable in container.get("env", [])}


def container_port(container: dict[str, Any], port: int | str) -> int:
    """The number of a port named or numbered in a probe, a Service or a NetworkPolicy."""
    for declared in container.get("ports", []):
        if port in (declared["containerPort"], declared.get("name")):
            return int(declared["containerPort"])
    raise AssertionError(f"{port!r} is not a port of container {container['name']}")


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def pod_labels(deployment: Manifest) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels


def dockerfile(name: str) -> dict[str, Any]:
    """What a Dockerfile says about the container: EXPOSE, USER, ENV and CMD."""
    text = (ROOT / name).read_text().replace("\\\n", " ")
    (expose,) = re.findall(r"^EXPOSE (\d+)$", text, re.MULTILINE)
    (user,) = re.findall(r"^USER (\d+)$", text, re.MULTILINE)
    (command,) = re.findall(r"^CMD (\[.*\])$", text, re.MULTILINE)
    variables: dict[str, str] = {}
    for line in re.findall(r"^ENV (.*)$", text, re.MULTILINE):
        for pair in shlex.split(line):
            key, value = pair.split("=", 1)
            variables[key] = value
    return {"expose": int(expose), "user": int(user), "env": variables, "cmd": json.loads(command)}


def secret_keys() -> dict[str, set[str]]:
    """The keys of each Secret the example shows."""
    return {
        document["metadata"]["name"]: set(document.get("stringData", {})) | set(document.get("data", {}))
        for document in load(MANIFESTS / SECRET_EXAMPLE)
        if document["kind"] == "Secret"
    }


@pytest.mark.parametrize("path", manifest_files(), ids=lambda path: path.name)
def test_every_object_in_every_manifest_is_valid_for_kubernetes_1_31_with_no_unknown_field(path: Path) -> None:
    documents = load(path)

    assert documents, f"{path.name} holds no object"
    for document in documents:
        where = f"{path.name}: {document.get('kind')}/{document.get('metadata', {}).get('name')}"
        problem: str | None = None
        try:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError as error:
            problem = f"no schema to check it against: {error.message}"
        except kubernetes_validate.ValidationError as error:
            problem = f"{'.'.join(map(str, error.path))}: {error.message}"
        assert problem is None, f"{where}: {problem}"


def test_the_validation_is_strict_so_a_misspelled_field_fails() -> None:
    deployment = copy.deepcopy(find(*API))
    container = the_container(deployment)
    container["readinesProbe"] = container.pop("readinessProbe")

    kubernetes_validate.validate(find(*API), KUBERNETES_VERSION, strict=True)
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_every_object_lives_in_the_namespace_the_manifests_create() -> None:
    (namespace,) = of_kind("Namespace")

    for document in objects(with_example_secrets=True):
        if document["kind"] != "Namespace":
            name = f"{document['kind']}/{document['metadata']['name']}"
            assert document["metadata"].get("namespace") == namespace["metadata"]["name"], name


def test_the_kustomization_lists_every_manifest_but_the_secret_example_and_each_file_it_lists_exists() -> None:
    kustomization = yaml.safe_load((MANIFESTS / KUSTOMIZATION).read_text())
    listed = kustomization["resources"]

    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization"
    assert len(listed) == len(set(listed)), "a file is listed twice"
    for name in listed:
        assert (MANIFESTS / name).is_file(), f"{name} is listed but does not exist"
    assert set(listed) == {path.name for path in manifest_files()} - {SECRET_EXAMPLE}
    assert not [document for document in objects() if document["kind"] == "Secret"], "a Secret is applied"
    assert {"namePrefix", "nameSuffix", "namespace", "configMapGenerator"}.isdisjoint(kustomization), (
        "the names the tests check are the names applied"
    )


def test_the_api_runs_several_replicas_and_rolls_out_one_new_pod_at_a_time() -> None:
    deployment = find(*API)
    spec = deployment["spec"]

    assert spec["replicas"] >= 2
    assert spec["strategy"]["type"] == "RollingUpdate"
    assert spec["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    assert 10 <= pod_spec(deployment)["terminationGracePeriodSeconds"] <= 60


def test_the_api_is_alive_on_healthz_and_ready_on_readyz_on_port_8000() -> None:
    container = the_container(find(*API))
    routes = {getattr(route, "path", None) for route in health_router.routes}
    probes = {
        kind: (container[kind]["httpGet"]["path"], container_port(container, container[kind]["httpGet"]["port"]))
        for kind in ("livenessProbe", "readinessProbe", "startupProbe")
        if kind in container
    }

    assert probes["livenessProbe"] == ("/healthz", 8000)
    assert probes["readinessProbe"] == ("/readyz", 8000)
    assert probes.get("startupProbe", ("/healthz", 8000)) == ("/healthz", 8000)
    assert {path for path, _ in probes.values()} <= routes, "a probe asks for a route the API does not have"


def test_the_config_is_the_configmap_mounted_as_a_folder_at_config_without_subpath() -> None:
    deployment = find(*API)
    container = the_container(deployment)
    config_path = PurePosixPath(env(container)["SLA_CONFIG_PATH"]["value"])
    (mount,) = [mount for mount in container["volumeMounts"] if mount["mountPath"] == "/config"]
    (volume,) = [volume for volume in pod_spec(deployment)["volumes"] if volume["name"] == mount["name"]]
    (configmap,) = of_kind("ConfigMap")

    assert str(config_path) == "/config/sla_config.yaml"
    assert config_path.parent == PurePosixPath(mount["mountPath"])
    assert "subPath" not in mount
    assert "subPathExpr" not in mount
    assert mount.get("readOnly") is True
    assert volume["configMap"]["name"] == configmap["metadata"]["name"]
    assert "items" not in volume["configMap"], "every key keeps its own name in the folder"
    assert config_path.name in configmap["data"]
    assert "SLA_CONFIG_POLLING" not in env(container), "inotify works on ConfigMap volumes"
    for other in container["volumeMounts"]:
        assert not PurePosixPath(other["mountPath"]).is_relative_to("/config") or other is mount


def test_the_configmap_carries_the_repository_sla_config_byte_for_byte() -> None:
    (configmap,) = of_kind("ConfigMap")

    assert configmap["data"]["sla_config.yaml"].encode() == (ROOT / "sla_config.yaml").read_bytes()


def test_the_database_url_and_the_admin_key_come_from_the_secret() -> None:
    variables = env(the_container(find(*API)))

    for name in ("DATABASE_URL", "SLA_ADMIN_KEY"):
        assert "value" not in variables[name], name
        reference = variables[name]["valueFrom"]["secretKeyRef"]
        assert reference.get("optional", False) is False, f"{name} must be there for the pod to start"
    assert variables["SLA_ONCALL_WEBHOOK_SECRET"]["valueFrom"]["secretKeyRef"]["optional"] is True


@pytest.mark.parametrize("deployment", [API, DASHBOARD], ids=lambda deployment: deployment[1])
def test_every_secret_and_configmap_a_pod_uses_is_defined_with_the_keys_it_reads(
    deployment: tuple[str, str],
) -> None:
    spec = pod_spec(find(*deployment))
    keys = secret_keys()
    configmaps = {document["metadata"]["name"]: set(document["data"]) for document in of_kind("ConfigMap")}

    for variable in env(the_container(find(*deployment))).values():
        if "secretKeyRef" in variable.get("valueFrom", {}):
            reference = variable["valueFrom"]["secretKeyRef"]
            assert reference["key"] in keys[reference["name"]], variable["name"]
        else:
            assert set(variable) == {"name", "value"}, variable["name"]
    for volume in spec["volumes"]:
        if "secret" in volume:
            wanted = {item["key"] for item in volume["secret"]["items"]}
            assert wanted <= keys[volume["secret"]["secretName"]], volume["name"]
        if "configMap" in volume:
            assert volume["configMap"]["name"] in configmaps, volume["name"]


@pytest.mark.parametrize(
    ("deployment", "dockerfile_name"),
    [(API, "Dockerfile.api"), (DASHBOARD, "Dockerfile.dashboard")],
    ids=["api", "dashboard"],
)
def test_the_pods_run_as_the_images_user_unprivileged_on_a_read_only_root_filesystem(
    deployment: tuple[str, str], dockerfile_name: str
) -> None:
    spec = pod_spec(find(*deployment))
    container = the_container(find(*deployment))
    effective = {**spec.get("securityContext", {}), **container.get("securityContext", {})}
    image = dockerfile(dockerfile_name)
    tmp = [mount for mount in container["volumeMounts"] if mount["mountPath"] == "/tmp"]

    assert effective["runAsNonRoot"] is True
    assert effective["runAsUser"] == image["user"] == IMAGE_USER
    assert effective["readOnlyRootFilesystem"] is True
    assert effective["allowPrivilegeEscalation"] is False
    assert effective["capabilities"] == {"drop": ["ALL"]}
    assert effective["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "privileged" not in effective or effective["privileged"] is False
    assert image["env"]["PYTHONDONTWRITEBYTECODE"] == "1", "no .pyc is written on a read-only root"
    (volume,) = [volume for volume in spec["volumes"] if volume["name"] == tmp[0]["name"]]
    assert "emptyDir" in volume
    assert spec["automountServiceAccountToken"] is False
    assert "requests" in container["resources"]
    assert "memory" in container["resources"]["limits"]


def test_a_pod_disruption_budget_keeps_all_but_one_api_pod_through_a_drain() -> None:
    deployment = find(*API)
    replicas = deployment["spec"]["replicas"]
    budgets = [
        budget
        for budget in of_kind("PodDisruptionBudget")
        if matches(budget["spec"]["selector"]["matchLabels"], pod_labels(deployment))
    ]

    (budget,) = budgets
    assert not matches(budget["spec"]["selector"]["matchLabels"], pod_labels(find(*DASHBOARD)))
    allowed = budget["spec"].get("maxUnavailable", replicas - budget["spec"].get("minAvailable", replicas))
    assert allowed == 1, "a drain may take one API pod at a time, never none and never more"


def test_every_service_selects_its_deployments_pods_and_targets_a_container_port() -> None:
    deployments = of_kind("Deployment")
    services = of_kind("Service")

    assert len(services) == len(deployments)
    for deployment in deployments:
        assert matches(deployment["spec"]["selector"]["matchLabels"], pod_labels(deployment))
    for service in services:
        name = service["metadata"]["name"]
        selected = [
            deployment for deployment in deployments if matches(service["spec"]["selector"], pod_labels(deployment))
        ]
        assert [deployment["metadata"]["name"] for deployment in selected] == [name], name
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP"
        for port in service["spec"]["ports"]:
            assert container_port(the_container(selected[0]), port["targetPort"]) == port["port"], name


@pytest.mark.parametrize(
    ("deployment", "dockerfile_name", "image"),
    [
        (API, "Dockerfile.api", "ghcr.io/example/sla-monitor-api:1.0.0"),
        (DASHBOARD, "Dockerfile.dashboard", "ghcr.io/example/sla-monitor-dashboard:1.0.0"),
    ],
    ids=["api", "dashboard"],
)
def test_the_containers_keep_the_images_commands_and_listen_on_the_ports_the_dockerfiles_expose(
    deployment: tuple[str, str], dockerfile_name: str, image: str
) -> None:
    container = the_container(find(*deployment))
    built = dockerfile(dockerfile_name)
    command = " ".join(built["cmd"])

    assert container["image"] == image
    assert "command" not in container, "the image's CMD runs as it is"
    assert "args" not in container, "the image's CMD runs as it is"
    assert [port["containerPort"] for port in container["ports"]] == [built["expose"]]
    assert int(env(container).get("PORT", {}).get("value", built["env"]["PORT"])) == built["expose"]
    assert '"$PORT"' in command
    assert "0.0.0.0" in command
    if dockerfile_name == "Dockerfile.api":
        assert "alembic upgrade head && exec python -m api" in command
        assert "--proxy-headers" in command
    else:
        assert "exec python -m dashboard " in command
        probe = container["readinessProbe"]["httpGet"]
        assert (probe["path"], container_port(container, probe["port"])) == ("/_stcore/health", built["expose"])
        assert container["livenessProbe"]["httpGet"]["path"] == "/_stcore/health"


def test_every_variable_set_for_the_api_is_a_setting_or_a_documented_extra() -> None:
    assert Settings.model_config.get("env_prefix", "") == ""
    assert Settings.model_config.get("case_sensitive", False) is False
    settings = {
        (field.validation_alias if isinstance(field.validation_alias, str) else name).upper()
        for name, field in Settings.model_fields.items()
    }

    unknown = set(env(the_container(find(*API)))) - settings - EXTRA_API_ENV
    assert not unknown, f"the API reads no such variable: {sorted(unknown)}"


def test_the_dashboard_reaches_the_api_through_its_service_and_reads_its_secrets_file_from_a_folder() -> None:
    deployment = find(*DASHBOARD)
    container = the_container(deployment)
    variables = env(container)
    api_service = find("Service", "sla-api")
    (api_port,) = api_service["spec"]["ports"]
    secrets_file = PurePosixPath(variables["STREAMLIT_SECRETS_FILES"]["value"])
    (mount,) = [mount for mount in container["volumeMounts"] if mount["mountPath"] == str(secrets_file.parent)]
    (volume,) = [volume for volume in pod_spec(deployment)["volumes"] if volume["name"] == mount["name"]]

    assert variables["SLA_API_URL"]["value"] == f"http://{api_service['metadata']['name']}:{api_port['port']}"
    assert "secretKeyRef" in variables["SLA_API_KEY"]["valueFrom"]
    assert variables["SLA_DASHBOARD_ALLOWED_USERS"]["value"]
    assert secrets_file == PurePosixPath("/secrets/streamlit/secrets.toml")
    assert "subPath" not in mount
    assert mount.get("readOnly") is True
    assert volume["secret"]["items"] == [{"key": "secrets.toml", "path": secrets_file.name}]
    assert 1 <= deployment["spec"]["replicas"] <= 2
    assert find("Service", "sla-dashboard")["spec"]["sessionAffinity"] == "ClientIP"


def test_the_api_pods_invite_prometheus_to_scrape_metrics_on_the_api_port() -> None:
    deployment = find(*API)
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    routes = {getattr(route, "path", None) for route in health_router.routes}

    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == container_port(the_container(deployment), "http") == 8000
    assert annotations["prometheus.io/path"] == "/metrics"
    assert "/metrics" in routes


def test_the_network_policies_admit_only_the_dashboard_and_outside_namespaces_to_the_pods() -> None:
    deployments = {document["metadata"]["name"]: document for document in of_kind("Deployment")}

    for policy in of_kind("NetworkPolicy"):
        selected = [
            deployment
            for deployment in deployments.values()
            if matches(policy["spec"]["podSelector"]["matchLabels"], pod_labels(deployment))
        ]
        (deployment,) = selected
        assert policy["spec"]["policyTypes"] == ["Ingress"]
        for rule in policy["spec"]["ingress"]:
            for port in rule["ports"]:
                container_port(the_container(deployment), port["port"])
            for peer in rule["from"]:
                assert set(peer) <= {"podSelector", "namespaceSelector"}
                if "podSelector" in peer:
                    assert "namespaceSelector" not in peer
                    assert matches(peer["podSelector"]["matchLabels"], pod_labels(deployments["sla-dashboard"]))
    api_peers = [peer for rule in find("NetworkPolicy", "sla-api")["spec"]["ingress"] for peer in rule["from"]]
    assert any("podSelector" in peer for peer in api_peers), "the dashboard reaches the API"
    dashboard_peers = [
        peer for rule in find("NetworkPolicy", "sla-dashboard")["spec"]["ingress"] for peer in rule["from"]
    ]
    assert all("podSelector" not in peer for peer in dashboard_peers), "only the ingress reaches the dashboard"


def test_the_secret_example_holds_only_obvious_placeholders() -> None:
    examples = load(MANIFESTS / SECRET_EXAMPLE)
    dashboard_url = env(the_container(find(*API)))["SLA_DASHBOARD_URL"]["value"]

    assert {document["kind"] for document in examples} == {"Secret"}
    for document in examples:
        assert "data" not in document, "placeholders in stringData, readable as such"
        for key, value in document["stringData"].items():
            assert "change-me" in value.lower(), f"{document['metadata']['name']}/{key} is no obvious placeholder"
    database_url = make_url(find("Secret", "sla-api")["stringData"]["database-url"])
    assert database_url.drivername == "postgresql"
    assert database_url.query["sslmode"] == "require"
    auth = tomllib.loads(find("Secret", "sla-dashboard")["stringData"]["secrets.toml"])["auth"]
    assert set(auth) == {"redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url"}
    for key in ("cookie_secret", "client_id", "client_secret"):
        assert auth[key].startswith("CHANGE-ME"), key
    assert auth["redirect_uri"] == f"{dashboard_url}/oauth2callback"


_KNOWN_SECRET = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"
    r"|\b(?:ghp|gho|ghs|glpat|sk_live|xox[abpr])[-_][A-Za-z0-9_-]{16,}"
    r"|(?<![0-9a-fA-F])[0-9a-fA-F]{32,}(?![0-9a-fA-F])"
)
_TOKEN = re.compile(r"[A-Za-z0-9+/=_-]{20,}")


def _entropy(token: str) -> float:
    """Shannon entropy of a string in bits per character."""
    counts = Counter(token)
    return -sum(count / len(token) * math.log2(count / len(token)) for count in counts.values())


def looks_like_a_secret(text: str) -> list[str]:
    """Known key formats, long hex runs, and long tokens mixing digits and both cases at random."""
    found = [match.group(0) for match in _KNOWN_SECRET.finditer(text)]
    found += [
        token
        for token in _TOKEN.findall(text)
        if all(re.search(letters, token) for letters in ("[0-9]", "[a-z]", "[A-Z]")) and _entropy(token) >= 3.5
    ]
    return found


def test_the_secret_scan_finds_generated_keys_and_passes_the_placeholders() -> None:
    generate = random.Random(10001)  # seeded: the same keys every run
    urlsafe, hexdigits = string.ascii_letters + string.digits + "-_", "0123456789abcdef"
    for _ in range(200):
        token = "".join(generate.choices(urlsafe, k=43))
        for key in (
            token,
            f"sla_{token}",
            f"sla_{''.join(generate.choices(hexdigits, k=64))}",
            f"whsec_{token}",
            f"postgresql://sla:{token}@db:5432/sla",
        ):
            assert looks_like_a_secret(key), key
    assert not looks_like_a_secret("sla_CHANGE-ME-admin-key whsec_CHANGE-ME postgresql://sla:CHANGE-ME@db:5432/sla")


@pytest.mark.parametrize("path", sorted(MANIFESTS.iterdir()), ids=lambda path: path.name)
def test_no_file_in_deploy_kubernetes_holds_a_real_looking_secret(path: Path) -> None:
    assert not looks_like_a_secret(path.read_text()), path.name
