"""The Helm chart at helm/motcua: static checks on its sources, then Helm's own lint and render.

Rendering uses the real Helm engine (Helm's Go SDK, loaded from the `helm-python-sdk` wheel, a
dev dependency), so no `helm` binary and no cluster are needed. The static checks run without
it and catch what a template engine forgives or what only a reader would notice: unbalanced
blocks, values that templates read but values.yaml does not declare, undocumented keys,
secrets written as text.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

CHART = Path(__file__).resolve().parents[2] / "helm" / "motcua"
SECRET_ENV = re.compile(r"PASSWORD|SECRET|TOKEN|MASTER_KEY|DATABASE_URL")
ALL_ON = {
    "ingress": {"enabled": True, "className": "nginx", "tls": [{"secretName": "motcua-tls", "hosts": ["motcua.example.vn"]}]},
    "serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
    "tenants": {"ca-mau.toml": 'slug = "ca-mau"\nname = "Cà Mau"\n'},
    "secrets": {"tenantSecrets": ["motcua-ca-mau"]},
    "networkPolicy": {"ingressFrom": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]},
}


# --- static checks: plain functions returning problems, so a broken chart can be fed to them ---

COMMENT = re.compile(r"\{\{-?\s*/\*.*?\*/\s*-?\}\}", re.S)
OPEN = re.compile(r"\{\{-?\s*(if|range|with|define|block)\b")
END = re.compile(r"\{\{-?\s*end\s*-?\}\}")


def block_problems(chart: Path) -> list[str]:
    """Every {{ if/range/with/define/block }} closed by its own {{ end }}, and {{ }} balanced."""
    problems = []
    for path in sorted((chart / "templates").iterdir()):
        text = path.read_text()
        if text.count("{{") != text.count("}}"):
            problems.append(f"{path.name}: {text.count('{{')} '{{{{' but {text.count('}}')} '}}}}'")
        depth = 0
        for match in re.finditer(f"{OPEN.pattern}|{END.pattern}", COMMENT.sub("", text)):
            depth += 1 if match.group(1) else -1
            if depth < 0:
                problems.append(f"{path.name}: an end without an opening block")
                break
        if depth > 0:
            problems.append(f"{path.name}: {depth} block(s) never closed with end")
    return problems


def missing_values(chart: Path) -> list[str]:
    """Paths `.Values.a.b` that templates read and values.yaml does not declare."""
    values = yaml.safe_load((chart / "values.yaml").read_text())
    missing = set()
    for path in (chart / "templates").iterdir():
        for ref in re.findall(r"\.Values((?:\.\w+)+)", path.read_text()):
            node: Any = values
            for key in ref.strip(".").split("."):
                if not isinstance(node, dict) or key not in node:
                    missing.add(f"{path.name}: .Values{ref}")
                    break
                node = node[key]
    return sorted(missing)


def undocumented_keys(chart: Path) -> list[str]:
    """Keys of values.yaml without a comment on the line right above them."""
    lines = (chart / "values.yaml").read_text().splitlines()
    key = re.compile(r"^\s*[\w.-]+:(\s|$)")
    return [f"values.yaml:{n + 1}: {line.strip()}" for n, line in enumerate(lines)
            if key.match(line) and not (n and lines[n - 1].lstrip().startswith("#"))]


def literal_secrets(chart: Path) -> list[str]:
    """Anything that looks like a secret value written into the chart's sources."""
    patterns = [
        re.compile(r"postgres(?:ql)?(?:\+\w+)?://[^\s/:@]+:[^\s/@]+@"),  # a URL carrying a password
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
        re.compile(r"^kind:\s*Secret\b", re.M),  # the chart references Secrets, never creates one
        re.compile(r"\b[0-9a-fA-F]{64}\b"),  # a 32-byte master key in hex
    ]
    files = [chart / "values.yaml", *sorted((chart / "templates").iterdir())]
    return [f"{p.name}: {m.group(0)!r}" for p in files for rx in patterns for m in rx.finditer(p.read_text())]


def test_templates_have_balanced_blocks():
    assert block_problems(CHART) == []


def test_templates_read_only_declared_values():
    assert missing_values(CHART) == []


def test_every_values_key_is_documented():
    assert undocumented_keys(CHART) == []


def test_no_secret_values_in_the_chart():
    assert literal_secrets(CHART) == []


def test_chart_metadata():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["name"] == "motcua"
    assert chart["type"] == "application"
    assert re.fullmatch(r"\d+\.\d+\.\d+", chart["version"])
    assert isinstance(chart["appVersion"], str) and chart["appVersion"]
    assert chart["description"]


def test_static_checks_catch_a_broken_chart(tmp_path):
    broken = tmp_path / "motcua"
    shutil.copytree(CHART, broken)
    job = broken / "templates" / "migration-job.yaml"
    job.write_text(job.read_text().replace("{{- end }}", "", 1).replace(".Values.migration.backoffLimit", ".Values.migration.retries"))
    values = broken / "values.yaml"
    values.write_text(values.read_text().replace("logLevel: INFO", "logLevel: INFO\nsneaky: 1\nsecret: postgresql://u:hunter2@db/x"))

    assert any("never closed" in p for p in block_problems(broken))
    assert missing_values(broken) == ["migration-job.yaml: .Values.migration.retries"]
    assert len(undocumented_keys(broken)) == 2
    assert literal_secrets(broken)


# --- Helm itself: lint and render ---

@pytest.fixture(scope="module")
def helm():
    try:
        import helm_python
    except ImportError:  # pragma: no cover - the dev group installs it; CI must never skip
        if os.environ.get("CI"):
            raise
        pytest.skip("helm-python-sdk is not installed: run `uv sync`")
    return helm_python


def render(helm, values: dict | None = None) -> list[dict]:
    with helm.Chart.load(CHART) as chart:
        files = chart.render(values or {}, name="prod", namespace="motcua", is_install=True)
    return [doc for name, text in files.items() if name.endswith(".yaml")
            for doc in yaml.safe_load_all(text) if doc]


def find(docs: list[dict], kind: str, name: str | None = None) -> dict:
    hits = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(hits) == 1, f"expected one {kind} {name or ''}, found {len(hits)}"
    return hits[0]


def container(deployment: dict) -> dict:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only


@pytest.mark.parametrize("values", [{}, ALL_ON], ids=["defaults", "all-on"])
def test_helm_lint_is_clean(helm, values):
    report = helm.lint(CHART, values, strict=True, namespace="motcua")
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_helm_lint_catches_a_broken_template(helm, tmp_path):
    broken = tmp_path / "motcua"
    shutil.copytree(CHART, broken)
    job = broken / "templates" / "migration-job.yaml"
    job.write_text(job.read_text().replace("{{- end }}", "", 1))
    assert helm.lint(broken)["errors"]


def test_default_render_has_every_piece(helm):
    kinds = sorted((d["kind"], d["metadata"]["name"]) for d in render(helm))
    assert kinds == sorted([
        ("ConfigMap", "prod-motcua-tenants"), ("ConfigMap", "prod-motcua-tenants-migrate"),
        ("Deployment", "prod-motcua-web"), ("Deployment", "prod-motcua-worker"),
        ("HorizontalPodAutoscaler", "prod-motcua-web"), ("HorizontalPodAutoscaler", "prod-motcua-worker"),
        ("Job", "prod-motcua-migrate"),
        ("NetworkPolicy", "prod-motcua"), ("NetworkPolicy", "prod-motcua-web"),
        ("PodDisruptionBudget", "prod-motcua-web"), ("PodDisruptionBudget", "prod-motcua-worker"),
        ("Service", "prod-motcua-web"),
        ("ServiceAccount", "prod-motcua"), ("ServiceAccount", "prod-motcua-migrate"),
    ])


def test_web_and_worker_run_one_image(helm):
    docs = render(helm)
    web = container(find(docs, "Deployment", "prod-motcua-web"))
    worker = container(find(docs, "Deployment", "prod-motcua-worker"))
    job = find(docs, "Job")["spec"]["template"]["spec"]["containers"][0]
    assert web["image"] == worker["image"] == job["image"] == "registry.example.vn/motcua/motcua:0.1.0"
    assert web["args"][0] == "serve" and worker["args"] == ["worker"]
    assert web["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]


def test_probes(helm):
    docs = render(helm)
    web = container(find(docs, "Deployment", "prod-motcua-web"))
    assert web["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert web["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    worker = container(find(docs, "Deployment", "prod-motcua-worker"))
    assert worker["livenessProbe"]["exec"]["command"] == ["python", "-c", "import motcua"]
    assert "livenessProbe" not in container(find(render(helm, {"worker": {"livenessProbe": False}}), "Deployment", "prod-motcua-worker"))


def test_migration_job_is_a_pre_upgrade_hook_that_applies_tenants(helm):
    docs = render(helm)
    job = find(docs, "Job")
    assert set(job["metadata"]["annotations"]["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    spec = job["spec"]["template"]["spec"]
    assert " ".join(spec["containers"][0]["command"] + spec["containers"][0]["args"]).endswith(
        "motcua migrate && motcua tenants apply /etc/motcua/tenants")
    # What the Job mounts and runs as must exist before it: hooks of lower weight.
    weight = int(job["metadata"]["annotations"]["helm.sh/hook-weight"])
    for kind, name in [("ConfigMap", "prod-motcua-tenants-migrate"), ("ServiceAccount", spec["serviceAccountName"])]:
        dep = find(docs, kind, name)["metadata"]["annotations"]
        assert dep["helm.sh/hook"] == job["metadata"]["annotations"]["helm.sh/hook"]
        assert int(dep["helm.sh/hook-weight"]) < weight
    tenants = next(v for v in spec["volumes"] if v["name"] == "tenants")
    assert tenants["configMap"]["name"] == "prod-motcua-tenants-migrate"


def test_environment_and_secrets_by_reference(helm):
    docs = render(helm, ALL_ON)
    for workload in [d for d in docs if d["kind"] in {"Deployment", "Job"}]:
        c = workload["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e for e in c["env"]}
        assert env["MOTCUA_PUBLIC_URL"]["value"] == "https://motcua.example.vn"
        assert env["MOTCUA_TENANTS_DIR"]["value"] == "/etc/motcua/tenants"
        assert env["MOTCUA_DATA_DIR"]["value"] == "/var/lib/motcua"
        for name in ["MOTCUA_DATABASE_URL", "MOTCUA_APP_DATABASE_URL", "MOTCUA_MASTER_KEY"]:
            assert env[name]["valueFrom"]["secretKeyRef"] == {"name": "motcua", "key": name}
        for name, entry in env.items():
            if SECRET_ENV.search(name):
                assert "value" not in entry, f"{name} written as a literal"
        # Tenant secrets go to `tenants apply` only; it stores them encrypted for the processes.
        if workload["kind"] == "Job":
            assert c["envFrom"] == [{"secretRef": {"name": "motcua-ca-mau"}}]
        else:
            assert "envFrom" not in c
    assert not [d for d in docs if d["kind"] == "Secret"]


def test_pods_are_locked_down(helm):
    for workload in [d for d in render(helm) if d["kind"] in {"Deployment", "Job"}]:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001
        assert pod["automountServiceAccountToken"] is False
        c = pod["containers"][0]
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        assert c["securityContext"]["allowPrivilegeEscalation"] is False
        assert c["resources"]["requests"] and c["resources"]["limits"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
        assert "emptyDir" in volumes[mounts["/tmp"]] and "emptyDir" in volumes[mounts["/var/lib/motcua"]]
        assert "configMap" in volumes[mounts["/etc/motcua/tenants"]]


def test_tenant_files_come_from_values_or_an_existing_configmap(helm):
    cm = find(render(helm, ALL_ON), "ConfigMap", "prod-motcua-tenants")
    assert cm["data"] == {"ca-mau.toml": 'slug = "ca-mau"\nname = "Cà Mau"\n'}

    docs = render(helm, {"existingTenantsConfigMap": "provinces"})
    assert not [d for d in docs if d["kind"] == "ConfigMap"]
    for workload in [d for d in docs if d["kind"] in {"Deployment", "Job"}]:
        volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"]["volumes"]}
        assert volumes["tenants"]["configMap"]["name"] == "provinces"


def test_autoscaling_owns_replicas(helm):
    docs = render(helm)
    for component in ["web", "worker"]:
        hpa = find(docs, "HorizontalPodAutoscaler", f"prod-motcua-{component}")
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"prod-motcua-{component}"}
        assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
        assert "replicas" not in find(docs, "Deployment", f"prod-motcua-{component}")["spec"]
        pdb = find(docs, "PodDisruptionBudget", f"prod-motcua-{component}")
        assert pdb["apiVersion"] == "policy/v1"

    fixed = render(helm, {"web": {"autoscaling": {"enabled": False}}})
    assert find(fixed, "Deployment", "prod-motcua-web")["spec"]["replicas"] == 2
    assert not [d for d in fixed if d["kind"] == "HorizontalPodAutoscaler" and d["metadata"]["name"].endswith("-web")]


def test_network_policy(helm):
    docs = render(helm, ALL_ON)
    base = find(docs, "NetworkPolicy", "prod-motcua")
    assert base["spec"]["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in base["spec"]
    egress_ports = {(p["port"], p["protocol"]) for rule in base["spec"]["egress"] for p in rule["ports"]}
    assert egress_ports == {(53, "UDP"), (53, "TCP"), (5432, "TCP"), (443, "TCP")}
    web = find(docs, "NetworkPolicy", "prod-motcua-web")
    (rule,) = web["spec"]["ingress"]
    assert rule["ports"] == [{"port": 8000, "protocol": "TCP"}]
    assert rule["from"] == ALL_ON["networkPolicy"]["ingressFrom"]
    assert not [d for d in render(helm, {"networkPolicy": {"enabled": False}}) if d["kind"] == "NetworkPolicy"]


def test_optional_ingress_and_service_monitor(helm):
    defaults = {d["kind"] for d in render(helm)}
    assert "Ingress" not in defaults and "ServiceMonitor" not in defaults

    docs = render(helm, ALL_ON)
    monitor = find(docs, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "30s"}]
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    service = find(docs, "Service")
    assert monitor["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]

    ingress = find(docs, "Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "prod-motcua-web", "port": {"name": "http"}}


def test_selectors_match_pods(helm):
    docs = render(helm)
    for kind in ["Service", "PodDisruptionBudget"]:
        for obj in [d for d in docs if d["kind"] == kind]:
            selector = obj["spec"]["selector"]
            selector = selector.get("matchLabels", selector)
            component = selector["app.kubernetes.io/component"]
            pod_labels = find(docs, "Deployment", f"prod-motcua-{component}")["spec"]["template"]["metadata"]["labels"]
            assert selector.items() <= pod_labels.items()


def test_container_build_file():
    text = (CHART.parent / "Containerfile").read_text()
    assert text.startswith("#") and "FROM python:3.11-slim" in text
    assert re.search(r"pip install .*\buv\b", text)
    assert "uv sync --frozen --no-dev" in text
    assert "USER 10001" in text
    assert 'ENTRYPOINT ["motcua"]' in text
    ignored = (CHART.parents[1] / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".motcua"} <= set(ignored)
