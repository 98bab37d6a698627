"""The Helm chart's values reach the app: rendered with non-default values, the app's
environment (in both Deployments: the front end and the actor host), the Dapr Components
and Subscriptions and the curriculum ConfigMap carry them, the app reads them back as its
settings, and every value in values.yaml changes what is rendered (a value that does
nothing fails). The two roles: each Deployment with its role, app id, replicas,
resources, HPA and PDB; the Service in front of the front end only."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from actors.config import DEFAULT_HELP_PHRASES
from service.settings import Settings
from tests.chart_render import (
    CHART,
    REPO,
    ROLES,
    RenderError,
    app_container,
    app_env,
    component_metadata,
    deployment,
    find,
    pod_template,
    render,
    render_text,
    selects,
)

VALUES = yaml.safe_load((CHART / "values.yaml").read_text())

CURRICULUM = """default_exercise_target = 7

[topics."sql.joins"]
exercise_target = 3
"""

CUSTOM: dict[str, Any] = {
    "environment": "staging",
    "dapr": {"placementMetadataUrl": "http://placement-leader.ops:9999/placement/state"},
    "intake": {"lanes": 2, "bulkMaxMessages": 250, "bulkMaxAwaitMs": 40},
    "kafka": {
        "brokers": "b-1.kafka:9092,b-2.kafka:9092",
        "topics": {
            "learning": "t.learning",
            "exercise": "t.exercise",
            "code": "t.code",
            "progressUpdated": "t.progress",
            "struggleDetected": "t.struggle",
            "deadLetter": "t.dead",
            "health": "t.health",
        },
    },
    "rules": {
        "repeatedErrorCount": 4,
        "consecutiveFailureCount": 6,
        "stuckMinutes": 12.5,
        "quizLowBelow": 55,
        "quizHighBelow": 20,
        "inactivityDays": 5,
        "misconceptionShare": 0.4,
        "misconceptionMinStudents": 5,
        "misconceptionWindowHours": 48,
        "wheelSpinningAttempts": 12,
        "wheelSpinningMastery": 0.9,
        "helpPhrases": ["help me", 'it says "error"'],
    },
    "curriculum": CURRICULUM,
    "eventRetentionDays": 14,
    "dryRunMaxEvents": 500000,
    "cors": {"origins": ["https://console.school.example", "http://localhost:5173"]},
    "streamTickets": {"ttlSeconds": 90, "existingSecret": "progress-stream-tickets"},
    "digests": {
        "publicUrl": "https://progress.school.example",
        "smtp": {
            "host": "smtp.school.example",
            "port": 2525,
            "starttls": False,
            "fromAddress": "digests@school.example",
            "existingSecret": "progress-smtp",
        },
        "sendTimeoutSeconds": 12.5,
        "tickSeconds": 30,
        "retryBaseSeconds": 120,
        "maxAttempts": 4,
        "unsubscribeSecret": "progress-unsubscribe",
    },
    "extraEnv": [
        {"name": "PROGRESS_DEDUPE_WINDOW", "value": "1024"},
        {"name": "PROGRESS_JWT_SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
    ],
}

# value in CUSTOM -> the environment variable the app reads it from, and the setting
ENV_OF_VALUE = {
    ("environment",): ("PROGRESS_ENVIRONMENT", "environment"),
    ("dapr", "placementMetadataUrl"): ("PROGRESS_PLACEMENT_METADATA_URL", "placement_metadata_url"),
    ("intake", "lanes"): ("PROGRESS_INTAKE_LANES", "intake_lanes"),
    ("intake", "bulkMaxMessages"): ("PROGRESS_BULK_MAX_MESSAGES", "bulk_max_messages"),
    ("intake", "bulkMaxAwaitMs"): ("PROGRESS_BULK_MAX_AWAIT_MS", "bulk_max_await_ms"),
    ("kafka", "brokers"): ("PROGRESS_KAFKA_BROKERS", "kafka_brokers"),
    ("kafka", "topics", "learning"): ("PROGRESS_LEARNING_TOPIC", "learning_topic"),
    ("kafka", "topics", "exercise"): ("PROGRESS_EXERCISE_TOPIC", "exercise_topic"),
    ("kafka", "topics", "code"): ("PROGRESS_CODE_TOPIC", "code_topic"),
    ("kafka", "topics", "progressUpdated"): ("PROGRESS_PROGRESS_TOPIC", "progress_topic"),
    ("kafka", "topics", "struggleDetected"): ("PROGRESS_STRUGGLE_TOPIC", "struggle_topic"),
    ("kafka", "topics", "deadLetter"): ("PROGRESS_DEADLETTER_TOPIC", "deadletter_topic"),
    ("kafka", "topics", "health"): ("PROGRESS_HEALTH_TOPIC", "health_topic"),
    ("rules", "repeatedErrorCount"): ("PROGRESS_REPEATED_ERROR_COUNT", "repeated_error_count"),
    ("rules", "consecutiveFailureCount"): (
        "PROGRESS_CONSECUTIVE_FAILURE_COUNT",
        "consecutive_failure_count",
    ),
    ("rules", "stuckMinutes"): ("PROGRESS_STUCK_MINUTES", "stuck_minutes"),
    ("rules", "quizLowBelow"): ("PROGRESS_QUIZ_LOW_BELOW", "quiz_low_below"),
    ("rules", "quizHighBelow"): ("PROGRESS_QUIZ_HIGH_BELOW", "quiz_high_below"),
    ("rules", "inactivityDays"): ("PROGRESS_INACTIVITY_DAYS", "inactivity_days"),
    ("rules", "misconceptionShare"): ("PROGRESS_MISCONCEPTION_SHARE", "misconception_share"),
    ("rules", "misconceptionMinStudents"): (
        "PROGRESS_MISCONCEPTION_MIN_STUDENTS",
        "misconception_min_students",
    ),
    ("rules", "misconceptionWindowHours"): (
        "PROGRESS_MISCONCEPTION_WINDOW_HOURS",
        "misconception_window_hours",
    ),
    ("rules", "helpPhrases"): ("PROGRESS_HELP_PHRASES", "help_phrases"),
    ("rules", "wheelSpinningAttempts"): (
        "PROGRESS_WHEEL_SPINNING_ATTEMPTS",
        "wheel_spinning_attempts",
    ),
    ("rules", "wheelSpinningMastery"): (
        "PROGRESS_WHEEL_SPINNING_MASTERY",
        "wheel_spinning_mastery",
    ),
    ("eventRetentionDays",): ("PROGRESS_EVENT_RETENTION_DAYS", "event_retention_days"),
    ("dryRunMaxEvents",): ("PROGRESS_DRY_RUN_MAX_EVENTS", "dry_run_max_events"),
    ("cors", "origins"): ("PROGRESS_CORS_ORIGINS", "cors_origins"),
    ("streamTickets", "ttlSeconds"): ("PROGRESS_STREAM_TICKET_TTL_S", "stream_ticket_ttl_s"),
    ("digests", "publicUrl"): ("PROGRESS_PUBLIC_URL", "public_url"),
    ("digests", "smtp", "host"): ("PROGRESS_SMTP_HOST", "smtp_host"),
    ("digests", "smtp", "port"): ("PROGRESS_SMTP_PORT", "smtp_port"),
    ("digests", "smtp", "starttls"): ("PROGRESS_SMTP_STARTTLS", "smtp_starttls"),
    ("digests", "smtp", "fromAddress"): ("PROGRESS_SMTP_FROM", "smtp_from"),
    ("digests", "sendTimeoutSeconds"): ("PROGRESS_DIGEST_SEND_TIMEOUT_S", "digest_send_timeout_s"),
    ("digests", "tickSeconds"): ("PROGRESS_DIGEST_TICK_S", "digest_tick_s"),
    ("digests", "retryBaseSeconds"): ("PROGRESS_DIGEST_RETRY_BASE_S", "digest_retry_base_s"),
    ("digests", "maxAttempts"): ("PROGRESS_DIGEST_MAX_ATTEMPTS", "digest_max_attempts"),
}


def dig(values: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        values = values[key]
    return values


def merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def nested(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {path[-1]: value}
    for key in reversed(path[:-1]):
        out = {key: out}
    return out


@pytest.fixture(scope="module")
def custom() -> list[dict[str, Any]]:
    return render(CUSTOM)


@pytest.fixture(scope="module")
def default() -> list[dict[str, Any]]:
    return render()


def settings_from(env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The Settings the app builds from this rendered env (secrets given dummy values)."""
    for name in list(os.environ):
        if name.startswith("PROGRESS_") or name in {"APP_API_TOKEN", "DAPR_API_TOKEN"}:
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value if isinstance(value, str) else "from-a-secret")
    return Settings()


@pytest.mark.parametrize("role", ROLES)
def test_every_value_reaches_the_app_as_its_setting(
    custom: list[dict[str, Any]], role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = app_env(custom, role)
    settings = settings_from(env, monkeypatch)
    for path, (variable, field) in ENV_OF_VALUE.items():
        value = dig(CUSTOM, path)
        assert variable in env, f"{'.'.join(path)} does not reach the app ({variable} unset)"
        assert getattr(settings, field) == value, f"{'.'.join(path)} -> {variable}"
    assert settings.curriculum_file == Path("/etc/progress/curriculum/curriculum.toml")
    assert settings.dedupe_window == 1024  # extraEnv
    # streamTickets.existingSecret: the key's base from that Secret
    assert env["PROGRESS_STREAM_TICKET_SECRET"] == {
        "secretKeyRef": {"name": "progress-stream-tickets", "key": "secret"}
    }
    assert settings.stream_ticket_secret is not None
    # digests.smtp.existingSecret and digests.unsubscribeSecret: keys from those Secrets
    assert env["PROGRESS_SMTP_PASSWORD"] == {
        "secretKeyRef": {"name": "progress-smtp", "key": "password", "optional": True}
    }
    assert env["PROGRESS_SMTP_USERNAME"] == {
        "secretKeyRef": {"name": "progress-smtp", "key": "username", "optional": True}
    }
    assert env["PROGRESS_DIGEST_UNSUBSCRIBE_SECRET"] == {
        "secretKeyRef": {"name": "progress-unsubscribe", "key": "secret"}
    }
    assert settings.smtp_password is not None and settings.digest_unsubscribe_secret is not None


def test_chart_defaults_are_the_apps_defaults(
    default: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """values.yaml repeats the app's defaults (so operators see them): they must agree."""
    settings = settings_from(app_env(default, "actor-host"), monkeypatch)
    built_in = Settings.model_construct()
    for path, (_, field) in ENV_OF_VALUE.items():
        if path in {("environment",), ("dapr", "placementMetadataUrl"), ("kafka", "brokers")}:
            continue  # production, the cluster's placement and brokers, on purpose
        assert getattr(settings, field) == getattr(built_in, field), ".".join(path)
    assert tuple(settings.help_phrases) == DEFAULT_HELP_PHRASES


def test_every_progress_variable_the_chart_sets_is_a_setting(
    default: list[dict[str, Any]], custom: list[dict[str, Any]]
) -> None:
    """A misspelt PROGRESS_ name would be silently ignored by the app: fail here."""
    fields = {
        name
        for name, info in Settings.model_fields.items()
        if info.validation_alias is None or str(info.validation_alias).lower() == f"progress_{name}"
    }
    aliases = {
        str(f.validation_alias) for f in Settings.model_fields.values() if f.validation_alias
    }
    extra = {item["name"] for item in CUSTOM["extraEnv"]}
    for docs, role in ((d, r) for d in (default, custom) for r in ROLES):
        for name in set(app_env(docs, role)) - extra:
            if name.startswith("PROGRESS_"):
                assert name.removeprefix("PROGRESS_").lower() in fields, f"{name} is no setting"
            else:
                assert name in aliases, f"{name} is read by nothing in Settings"


def test_the_app_is_told_the_component_names_the_chart_gives(
    custom: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_from(app_env(custom, "actor-host"), monkeypatch)
    components = {d["metadata"]["name"] for d in custom if d["kind"] == "Component"}
    assert settings.pubsub_name in components
    assert settings.statestore_name in components
    kafka = {
        d["metadata"]["name"]
        for d in custom
        if d["kind"] == "Component" and d["spec"]["type"] == "pubsub.kafka"
    }
    assert kafka == {settings.pubsub_name, *settings.intake_pubsubs}


def test_subscriptions_use_the_topics_lanes_and_batches(custom: list[dict[str, Any]]) -> None:
    topics = CUSTOM["kafka"]["topics"]
    subscriptions = [d for d in custom if d["kind"] == "Subscription"]
    got = {(s["spec"]["pubsubname"], s["spec"]["topic"]) for s in subscriptions}
    assert got == {
        (f"kafka-intake-{lane}", topics[name])
        for lane in (1, 2)
        for name in ("learning", "exercise", "code")
    }
    for subscription in subscriptions:
        spec = subscription["spec"]
        assert spec["deadLetterTopic"] == "t.dead"
        assert spec["bulkSubscribe"]["maxMessagesCount"] == 250
        assert spec["bulkSubscribe"]["maxAwaitDurationMs"] == 40
    resiliency = next(d for d in custom if d["kind"] == "Resiliency")
    assert set(resiliency["spec"]["targets"]["components"]) == {
        "kafka-intake-1",
        "kafka-intake-2",
        "kafka-pubsub",
        "actorstate",
    }


def test_the_curriculum_is_a_mounted_configmap(
    custom: list[dict[str, Any]], default: list[dict[str, Any]]
) -> None:
    configmap = find(custom, "ConfigMap", "progress-curriculum")
    assert configmap["data"]["curriculum.toml"] == CURRICULUM
    assert tomllib.loads(configmap["data"]["curriculum.toml"])["default_exercise_target"] == 7
    for role in ROLES:  # both roles read it (the actor host's rules, the front end's views)
        container = app_container(custom, role)
        curriculum_file = Path(app_env(custom, role)["PROGRESS_CURRICULUM_FILE"])
        mount = next(m for m in container["volumeMounts"] if m["name"] == "curriculum")
        assert mount["readOnly"] is True
        assert Path(mount["mountPath"]) == curriculum_file.parent
        pod = pod_template(custom, role)
        volume = next(v for v in pod["spec"]["volumes"] if v["name"] == "curriculum")
        assert volume["configMap"]["name"] == "progress-curriculum"
        # a new curriculum rolls the pods
        default_pod = pod_template(default, role)
        key = "checksum/curriculum"
        assert pod["metadata"]["annotations"][key] != default_pod["metadata"]["annotations"][key]


def test_the_default_curriculum_is_the_repositorys(default: list[dict[str, Any]]) -> None:
    configmap = find(default, "ConfigMap", "progress-curriculum")
    repository = (REPO / "config" / "curriculum.toml").read_text()
    assert configmap["data"]["curriculum.toml"] == repository


def test_extra_env_is_appended_after_the_charts(custom: list[dict[str, Any]]) -> None:
    for role in ROLES:
        env = app_container(custom, role)["env"]
        assert env[-2:] == CUSTOM["extraEnv"], role


@pytest.mark.parametrize(
    "name", ["PROGRESS_STUCK_MINUTES", "PROGRESS_ROLE", "PROGRESS_ACTOR_HOST_APP_ID"]
)
def test_extra_env_may_not_shadow_a_value(name: str) -> None:
    """Nor the role's own variables (the actor host has no PROGRESS_ACTOR_HOST_APP_ID, and
    it may not be given one either)."""
    with pytest.raises(RenderError, match=f"{name}.*set that value instead"):
        render({"extraEnv": [{"name": name, "value": "1"}]})


def test_extra_env_entries_need_a_name() -> None:
    with pytest.raises(RenderError, match="without a name"):
        render({"extraEnv": [{"value": "1"}]})


def test_image_defaults_to_the_service_version(default: list[dict[str, Any]]) -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["appVersion"] == version
    docs = render(set_values=["image.repository=reg.example/ps", "image.tag=9.9.9"])
    for role in ROLES:  # one image, both roles
        assert app_container(default, role)["image"] == f"progress-service:{version}"
        assert app_container(docs, role)["image"] == "reg.example/ps:9.9.9"
    job = next(d for d in docs if d["kind"] == "Job")
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == "reg.example/ps:9.9.9"


def test_placement_default_lists_each_pod_of_the_dapr_charts_placement(
    default: list[dict[str, Any]],
) -> None:
    """Only placement's raft leader answers /placement/state: the default names each pod
    of Dapr's HA placement (the app asks them in turn, service/frontend/routes/ops.py)."""
    urls = app_env(default, "front-end")["PROGRESS_PLACEMENT_METADATA_URL"].split(",")
    assert urls == [
        f"http://dapr-placement-server-{i}.dapr-placement-server.dapr-system.svc.cluster.local"
        ":8080/placement/state"
        for i in range(3)
    ]


def test_custom_values_render_valid_manifests(tmp_path: Path) -> None:
    """kubeconform (runtime/check-chart.sh) accepts what non-default values render."""
    values = merged(
        CUSTOM,
        {
            "frontEnd": {"autoscaling": {"enabled": False}, "replicaCount": 3},
            "actorHost": {
                "autoscaling": {"enabled": False},
                "sidecarResources": {"requests": {"cpu": 0.5}, "limits": {"cpu": 2}},
            },
            "serviceMonitor": {"enabled": True},
            "kafka": {
                "auth": {"type": "mtls", "secret": "kafka-user"},
                "tls": {"caCert": {"secret": "cluster-ca", "key": "ca.crt"}},
            },
        },
    )
    manifests = tmp_path / "custom.yaml"
    manifests.write_text(render_text(values))
    check = REPO / "runtime" / "check-chart.sh"
    result = subprocess.run(
        [str(check), str(manifests)], capture_output=True, text=True, timeout=900, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Invalid: 0, Errors: 0" in result.stdout


# --- the two roles ---------------------------------------------------------------------

DAPR_ANNOTATIONS = {  # what each role's daprd is told, whatever the role
    "dapr.io/enabled": "true",
    "dapr.io/app-port": "8000",
    "dapr.io/app-protocol": "http",
    "dapr.io/config": "progress-config",
    "dapr.io/app-token-secret": "progress-service-dapr-api-token",
    "dapr.io/api-token-secret": "progress-service-dapr-api-token",
    "dapr.io/enable-metrics": "true",
    "dapr.io/metrics-port": "9090",
    "dapr.io/enable-app-health-check": "true",
    "dapr.io/app-health-check-path": "/healthz",
}


def pod_labels(docs: list[dict[str, Any]], role: str) -> dict[str, str]:
    labels: dict[str, str] = pod_template(docs, role)["metadata"]["labels"]
    return labels


def test_the_chart_deploys_the_two_roles_of_the_one_image(
    default: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    deployments = {d["metadata"]["name"] for d in default if d["kind"] == "Deployment"}
    assert deployments == {"progress-front-end", "progress-actor-host"}
    expected = {  # role -> (PROGRESS_ROLE, Dapr app id, PROGRESS_ACTOR_HOST_APP_ID)
        "front-end": ("api", "progress-service-api", "progress-service"),
        "actor-host": ("actors", "progress-service", ""),
    }
    for role, (progress_role, app_id, host_app_id) in expected.items():
        annotations = pod_template(default, role)["metadata"]["annotations"]
        assert annotations["dapr.io/app-id"] == app_id
        assert DAPR_ANNOTATIONS.items() <= annotations.items(), role
        assert pod_labels(default, role)["app.kubernetes.io/component"] == role
        settings = settings_from(app_env(default, role), monkeypatch)
        assert settings.role == progress_role
        assert settings.actor_host_app_id == host_app_id
        app = app_container(default, role)
        assert app["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert app["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert app["startupProbe"]["httpGet"]["path"] == "/healthz"
    # the same environment but for what tells the roles apart
    front_end, actor_host = app_env(default, "front-end"), app_env(default, "actor-host")
    own = {"PROGRESS_ROLE", "PROGRESS_ACTOR_HOST_APP_ID"}
    assert {k: v for k, v in front_end.items() if k not in own} == {
        k: v for k, v in actor_host.items() if k not in own
    }
    assert "PROGRESS_ACTOR_HOST_APP_ID" not in actor_host


def test_the_app_ids_follow_dapr_app_id() -> None:
    """The actor host keeps dapr.appId (its state keys, its consumer group); the front
    end is <appId>-api and asks the actor host by that id."""
    docs = render({"dapr": {"appId": "progress-eu"}})
    ids = {
        role: pod_template(docs, role)["metadata"]["annotations"]["dapr.io/app-id"]
        for role in ROLES
    }
    assert ids == {"front-end": "progress-eu-api", "actor-host": "progress-eu"}
    assert app_env(docs, "front-end")["PROGRESS_ACTOR_HOST_APP_ID"] == "progress-eu"
    intake = find(docs, "Component", "kafka-intake-1")
    assert component_metadata(intake)["consumerGroup"] == "progress-eu"


def test_each_deployment_selects_its_own_pods_only(default: list[dict[str, Any]]) -> None:
    """Dapr's operator makes the Service <app id>-dapr from a Deployment's selector: a
    selector matching both roles would send the actor host's calls to front end pods."""
    for role in ROLES:
        selector = deployment(default, role)["spec"]["selector"]
        for other in ROLES:
            assert selects(selector, pod_labels(default, other)) == (other == role)


def test_the_service_is_the_front_ends(default: list[dict[str, Any]]) -> None:
    service = find(default, "Service", "progress")
    assert selects(service["spec"]["selector"], pod_labels(default, "front-end"))
    assert not selects(service["spec"]["selector"], pod_labels(default, "actor-host"))
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    # the actor host has no Service unless the ServiceMonitor needs one to scrape it
    assert [d["metadata"]["name"] for d in default if d["kind"] == "Service"] == ["progress"]


def test_the_service_monitor_scrapes_both_roles() -> None:
    docs = render({"serviceMonitor": {"enabled": True}})
    headless = find(docs, "Service", "progress-actor-host")
    assert headless["spec"]["clusterIP"] == "None"
    assert selects(headless["spec"]["selector"], pod_labels(docs, "actor-host"))
    assert not selects(headless["spec"]["selector"], pod_labels(docs, "front-end"))
    assert headless["spec"]["ports"][0]["name"] == "http"
    monitor = find(docs, "ServiceMonitor", "progress")
    services = [d for d in docs if d["kind"] == "Service"]
    assert {s["metadata"]["name"] for s in services} == {"progress", "progress-actor-host"}
    for service in services:
        assert selects(monitor["spec"]["selector"], service["metadata"]["labels"])
    assert monitor["spec"]["endpoints"][0]["port"] == "http"
    pods = find(docs, "PodMonitor", "progress-daprd")
    for role in ROLES:
        assert selects(pods["spec"]["selector"], pod_labels(docs, role))
    for each in (monitor, pods):  # the role on every sample
        assert each["spec"]["podTargetLabels"] == ["app.kubernetes.io/component"]


ROLE_SIZES: dict[str, Any] = {
    "frontEnd": {
        "autoscaling": {"minReplicas": 3, "maxReplicas": 7, "targetCPUUtilizationPercentage": 60},
        "podDisruptionBudget": {"minAvailable": 2},
        "resources": {"requests": {"cpu": "300m"}},
        "sidecarResources": {"requests": {"cpu": "50m"}, "limits": {"cpu": "1"}},
    },
    "actorHost": {
        "autoscaling": {"minReplicas": 4, "maxReplicas": 9, "targetCPUUtilizationPercentage": 80},
        "podDisruptionBudget": {"minAvailable": 3},
        "resources": {"requests": {"cpu": "700m"}},
        "sidecarResources": {"requests": {"cpu": "400m", "memory": "256Mi"}},
    },
}


def test_each_role_has_its_own_size_hpa_and_pdb() -> None:
    docs = render(ROLE_SIZES)
    for role, (key, _) in ROLES.items():
        sizes = ROLE_SIZES[key]
        hpa = find(docs, "HorizontalPodAutoscaler", f"progress-{role}")
        assert hpa["spec"]["scaleTargetRef"]["name"] == f"progress-{role}"
        assert hpa["spec"]["minReplicas"] == sizes["autoscaling"]["minReplicas"]
        assert hpa["spec"]["maxReplicas"] == sizes["autoscaling"]["maxReplicas"]
        [metric] = hpa["spec"]["metrics"]
        target = sizes["autoscaling"]["targetCPUUtilizationPercentage"]
        assert metric["resource"] == {
            "name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": target},
        }
        assert "replicas" not in deployment(docs, role)["spec"]  # the HPA's
        pdb = find(docs, "PodDisruptionBudget", f"progress-{role}")
        assert pdb["spec"]["minAvailable"] == sizes["podDisruptionBudget"]["minAvailable"]
        for other in ROLES:
            assert selects(pdb["spec"]["selector"], pod_labels(docs, other)) == (other == role)
        resources = app_container(docs, role)["resources"]
        assert resources["requests"]["cpu"] == sizes["resources"]["requests"]["cpu"]
        assert resources["requests"]["memory"] == VALUES[key]["resources"]["requests"]["memory"]
        annotations = pod_template(docs, role)["metadata"]["annotations"]
        sidecar = {k: v for k, v in annotations.items() if k.startswith("dapr.io/sidecar-")}
        merged_sidecar = merged(VALUES[key]["sidecarResources"], sizes["sidecarResources"])
        assert sidecar == {
            f"dapr.io/sidecar-{resource}-{kind.removesuffix('s')}": str(quantity)
            for kind, by_resource in merged_sidecar.items()
            for resource, quantity in by_resource.items()
        }
        # daprd has a CPU request, or the HPA has no utilization to act on
        assert "dapr.io/sidecar-cpu-request" in sidecar


def test_without_autoscaling_a_role_has_its_replica_count_and_no_hpa() -> None:
    docs = render({"actorHost": {"autoscaling": {"enabled": False}, "replicaCount": 5}})
    assert deployment(docs, "actor-host")["spec"]["replicas"] == 5
    hpas = {d["metadata"]["name"] for d in docs if d["kind"] == "HorizontalPodAutoscaler"}
    assert hpas == {"progress-front-end"}
    assert "replicas" not in deployment(docs, "front-end")["spec"]
    with pytest.raises(RenderError, match="frontEnd.replicaCount must be a whole number"):
        render({"frontEnd": {"autoscaling": {"enabled": False}, "replicaCount": 1.5}})


@pytest.mark.parametrize(
    ("sidecar", "error"),
    [
        ({"requests": {"gpu": "1"}}, "actorHost.sidecarResources.requests has cpu and memory"),
        ({"request": {"cpu": "1"}}, "actorHost.sidecarResources has requests and limits"),
    ],
)
def test_sidecar_resource_mistakes_are_refused(sidecar: dict[str, Any], error: str) -> None:
    with pytest.raises(RenderError, match=re.escape(error)):
        render({"actorHost": {"sidecarResources": sidecar}})


def test_per_role_values_are_no_longer_top_level() -> None:
    """replicaCount, resources, autoscaling and podDisruptionBudget are each role's: a
    leftover top-level one (values.yaml or production's) would be silently ignored."""
    production = yaml.safe_load((CHART / "values-production.yaml").read_text())
    moved = {"replicaCount", "resources", "autoscaling", "podDisruptionBudget"}
    for values in (VALUES, production):
        assert not moved & set(values)
    for key, _ in ROLES.values():
        assert moved <= set(VALUES[key])
        assert VALUES[key]["podDisruptionBudget"]["minAvailable"] >= 1
        assert production[key]["podDisruptionBudget"]["minAvailable"] >= 1


@pytest.mark.parametrize(
    "old", [{"replicaCount": 3}, {"resources": {"limits": {"cpu": "2"}}}, {"autoscaling": {}}]
)
def test_values_of_the_one_deployment_are_refused(old: dict[str, Any]) -> None:
    """An override written for the chart before the split fails instead of doing nothing."""
    [name] = old
    with pytest.raises(RenderError, match=f"{name} is per role now: set frontEnd.{name}"):
        render(old)


def test_production_values_land_in_each_role() -> None:
    production = yaml.safe_load((CHART / "values-production.yaml").read_text())
    docs = render(values_files=[CHART / "values-production.yaml"])
    for role, (key, _) in ROLES.items():
        hpa = find(docs, "HorizontalPodAutoscaler", f"progress-{role}")
        assert hpa["spec"]["maxReplicas"] == production[key]["autoscaling"]["maxReplicas"]
        assert hpa["spec"]["minReplicas"] == production[key]["autoscaling"]["minReplicas"]
        pdb = find(docs, "PodDisruptionBudget", f"progress-{role}")
        assert pdb["spec"]["minAvailable"] == production[key]["podDisruptionBudget"]["minAvailable"]
        limits = app_container(docs, role)["resources"]["limits"]
        assert limits["cpu"] == production[key]["resources"]["limits"]["cpu"]
        # a PDB that can never be met blocks every node drain
        assert pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"]


def test_only_the_actor_host_consumes_and_both_publish(default: list[dict[str, Any]]) -> None:
    """Intake lanes and Subscriptions are the actor host's (the front end's daprd never
    joins the consumer group); both publish, call actors and retry (the Resiliency)."""
    host, front = "progress-service", "progress-service-api"
    for doc in default:
        name, scopes = doc["metadata"]["name"], doc.get("scopes")
        if doc["kind"] == "Subscription" or name.startswith("kafka-intake-"):
            assert scopes == [host], name
        elif doc["kind"] in {"Component", "Resiliency"}:
            assert sorted(scopes or []) == [host, front], name


def test_default_sizes_suit_a_small_cluster(default: list[dict[str, Any]]) -> None:
    for role in ROLES:
        hpa = find(default, "HorizontalPodAutoscaler", f"progress-{role}")
        assert hpa["spec"]["minReplicas"] == 2
        pdb = find(default, "PodDisruptionBudget", f"progress-{role}")
        assert pdb["spec"]["minAvailable"] == 1


# --- Kafka authentication ---------------------------------------------------------------


def kafka_components(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = [d for d in docs if d["kind"] == "Component" and d["spec"]["type"] == "pubsub.kafka"]
    assert {c["metadata"]["name"] for c in found} == {
        "kafka-pubsub",
        "kafka-intake-1",
        "kafka-intake-2",
        "kafka-intake-3",
    }
    return found


AUTH_KEYS = {
    "authType",
    "saslMechanism",
    "saslUsername",
    "saslPassword",
    "caCert",
    "clientCert",
    "clientKey",
    "skipVerify",
    "disableTls",
}


def ref(secret: str, key: str) -> dict[str, Any]:
    return {"secretKeyRef": {"name": secret, "key": key}}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, {"authType": "none"}),
        (
            {"auth": {"type": "password", "secret": "kafka-user"}},
            {
                "authType": "password",
                "saslMechanism": "SHA-512",
                "saslUsername": ref("kafka-user", "username"),
                "saslPassword": ref("kafka-user", "password"),
            },
        ),
        (
            {
                "auth": {
                    "type": "password",
                    "saslMechanism": "PLAINTEXT",
                    "saslPassword": {"secret": "other", "key": "pw"},
                },
                "tls": {"disable": True},
            },
            {
                "authType": "password",
                "saslMechanism": "PLAINTEXT",
                "saslUsername": ref("progress-service-kafka", "username"),
                "saslPassword": ref("other", "pw"),
                "disableTls": "true",
            },
        ),
        (
            {
                "auth": {"type": "password", "saslMechanism": "SHA-256"},
                "tls": {"caCert": {"secret": "cluster-ca", "key": "ca.crt"}, "skipVerify": True},
            },
            {
                "authType": "password",
                "saslMechanism": "SHA-256",
                "saslUsername": ref("progress-service-kafka", "username"),
                "saslPassword": ref("progress-service-kafka", "password"),
                "caCert": ref("cluster-ca", "ca.crt"),
                "skipVerify": "true",
            },
        ),
        (
            {"auth": {"type": "certificate"}, "tls": {"caCert": {"key": "ca.pem"}}},
            {"authType": "certificate", "caCert": ref("progress-service-kafka", "ca.pem")},
        ),
        (
            {
                "auth": {
                    "type": "mtls",
                    "secret": "kafka-user",
                    "clientCert": {"key": "user.crt"},
                    "clientKey": {"key": "user.key"},
                },
                "tls": {"caCert": {"secret": "cluster-ca", "key": "ca.crt"}},
            },
            {
                "authType": "mtls",
                "caCert": ref("cluster-ca", "ca.crt"),
                "clientCert": ref("kafka-user", "user.crt"),
                "clientKey": ref("kafka-user", "user.key"),
            },
        ),
    ],
    ids=["none", "sasl-scram", "sasl-plaintext-no-tls", "sasl-private-ca", "tls", "mtls"],
)
def test_kafka_auth_on_every_kafka_component(
    values: dict[str, Any], expected: dict[str, Any]
) -> None:
    docs = render({"kafka": {**values, "brokers": "b-1:9093,b-2:9093"}})
    for component in kafka_components(docs):
        metadata = component_metadata(component)
        assert {k: v for k, v in metadata.items() if k in AUTH_KEYS} == expected
        assert metadata["brokers"] == "b-1:9093,b-2:9093"


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"auth": {"type": "sasl"}}, "must be none, password, certificate or mtls"),
        ({"auth": {"type": "password", "saslMechanism": "MD5"}}, "saslMechanism must be"),
        ({"auth": {"type": "certificate"}}, "caCert needs a secret and a key"),
        ({"auth": {"type": "mtls", "clientKey": {"key": ""}}}, "needs a secret and a key"),
        ({"auth": {"type": "password", "secret": ""}}, "saslUsername needs a secret"),
        ({"tls": {"skipVerify": True}}, "do not apply to kafka.auth.type none"),
        (
            {"auth": {"type": "mtls"}, "tls": {"disable": True, "caCert": {"key": "ca"}}},
            "password only",
        ),
    ],
)
def test_kafka_auth_mistakes_are_refused(values: dict[str, Any], error: str) -> None:
    with pytest.raises(RenderError, match=re.escape(error)):
        render({"kafka": values})


def test_no_credential_is_rendered_as_a_literal() -> None:
    """Every credential field of every Kafka component is a secretKeyRef."""
    docs = render(
        {
            "kafka": {
                "auth": {"type": "mtls"},
                "tls": {"caCert": {"key": "ca.crt"}},
            }
        }
    )
    for component in kafka_components(docs):
        for item in component["spec"]["metadata"]:
            if item["name"] in {"saslPassword", "clientKey", "clientCert", "caCert"}:
                assert set(item) == {"name", "secretKeyRef"}


APP_KAFKA = "/etc/progress/kafka"


@pytest.mark.parametrize(
    ("values", "expected_env", "files"),
    [
        ({}, {"PROGRESS_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}, {}),
        (
            {"auth": {"type": "password", "secret": "kafka-user"}},
            {
                "PROGRESS_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "PROGRESS_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
                "PROGRESS_KAFKA_SASL_USERNAME": ref("kafka-user", "username"),
                "PROGRESS_KAFKA_SASL_PASSWORD": ref("kafka-user", "password"),
            },
            {},
        ),
        (
            {
                "auth": {
                    "type": "password",
                    "saslMechanism": "PLAINTEXT",
                    "saslPassword": {"secret": "other", "key": "pw"},
                },
                "tls": {"disable": True},
            },
            {
                "PROGRESS_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
                "PROGRESS_KAFKA_SASL_MECHANISM": "PLAIN",
                "PROGRESS_KAFKA_SASL_USERNAME": ref("progress-service-kafka", "username"),
                "PROGRESS_KAFKA_SASL_PASSWORD": ref("other", "pw"),
            },
            {},
        ),
        (
            {
                "auth": {"type": "password", "saslMechanism": "SHA-256"},
                "tls": {"caCert": {"secret": "cluster-ca", "key": "ca.crt"}, "skipVerify": True},
            },
            {
                "PROGRESS_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "PROGRESS_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
                "PROGRESS_KAFKA_SASL_USERNAME": ref("progress-service-kafka", "username"),
                "PROGRESS_KAFKA_SASL_PASSWORD": ref("progress-service-kafka", "password"),
                "PROGRESS_KAFKA_CA_FILE": f"{APP_KAFKA}/ca.crt",
                "PROGRESS_KAFKA_TLS_SKIP_VERIFY": "true",
            },
            {"ca.crt": ("cluster-ca", "ca.crt")},
        ),
        (
            {"auth": {"type": "certificate"}, "tls": {"caCert": {"key": "ca.pem"}}},
            {
                "PROGRESS_KAFKA_SECURITY_PROTOCOL": "SSL",
                "PROGRESS_KAFKA_CA_FILE": f"{APP_KAFKA}/ca.crt",
            },
            {"ca.crt": ("progress-service-kafka", "ca.pem")},
        ),
        (
            {
                "auth": {
                    "type": "mtls",
                    "secret": "kafka-user",
                    "clientCert": {"key": "user.crt"},
                    "clientKey": {"key": "user.key"},
                },
                "tls": {"caCert": {"secret": "cluster-ca", "key": "ca.crt"}},
            },
            {
                "PROGRESS_KAFKA_SECURITY_PROTOCOL": "SSL",
                "PROGRESS_KAFKA_CA_FILE": f"{APP_KAFKA}/ca.crt",
                "PROGRESS_KAFKA_CERT_FILE": f"{APP_KAFKA}/client.crt",
                "PROGRESS_KAFKA_KEY_FILE": f"{APP_KAFKA}/client.key",
            },
            {
                "ca.crt": ("cluster-ca", "ca.crt"),
                "client.crt": ("kafka-user", "user.crt"),
                "client.key": ("kafka-user", "user.key"),
            },
        ),
    ],
    ids=["none", "sasl-scram", "sasl-plaintext-no-tls", "sasl-private-ca", "tls", "mtls"],
)
def test_the_app_reaches_kafka_as_the_components_do(
    values: dict[str, Any],
    expected_env: dict[str, Any],
    files: dict[str, tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GET /ops/intake reads Kafka itself: the app gets the brokers and the same
    authentication as daprd's components, its PEM files mounted from the same Secrets,
    and the settings it builds from them are valid."""
    docs = render({"kafka": {**values, "brokers": "b-1:9093,b-2:9093"}})
    for role in ROLES:
        env = app_env(docs, role)
        kafka_env = {k: v for k, v in env.items() if k.startswith("PROGRESS_KAFKA_")}
        assert kafka_env == {"PROGRESS_KAFKA_BROKERS": "b-1:9093,b-2:9093", **expected_env}
        pod = pod_template(docs, role)["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounts = {m["name"]: m for m in app_container(docs, role)["volumeMounts"]}
        if not files:
            assert "kafka-tls" not in volumes and "kafka-tls" not in mounts
        else:
            assert mounts["kafka-tls"] == {
                "name": "kafka-tls",
                "mountPath": APP_KAFKA,
                "readOnly": True,
            }
            sources = volumes["kafka-tls"]["projected"]["sources"]
            mounted = {
                item["path"]: (source["secret"]["name"], item["key"])
                for source in sources
                for item in source["secret"]["items"]
            }
            assert mounted == files
        settings = settings_from(env, monkeypatch)
        assert settings.kafka_security_protocol == expected_env["PROGRESS_KAFKA_SECURITY_PROTOCOL"]


# --- memory -------------------------------------------------------------------------------

UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def byte_count(quantity: str) -> int:
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi)", quantity)
    assert match, quantity
    return int(match[1]) * UNITS[match[2]]


@pytest.mark.parametrize("production", [False, True])
def test_memory_limits_fit_each_roles_peak(production: bool) -> None:
    """docs/performance.md: app peak 253 MB (twice saturation), a dry run's worker up to
    205 MB. The front end starts dry runs (their worker runs in its container): app +
    worker + 1/4. The actor host runs the intake and no worker: app + 1/4."""
    files = [CHART / "values-production.yaml"] if production else []
    docs = render(values_files=files)
    front_end = app_container(docs, "front-end")["resources"]
    assert byte_count(front_end["limits"]["memory"]) >= (253 + 205) * 10**6 * 1.25
    assert byte_count(front_end["requests"]["memory"]) >= 253 * 10**6
    actor_host = app_container(docs, "actor-host")["resources"]
    assert byte_count(actor_host["limits"]["memory"]) >= 253 * 10**6 * 1.25
    assert byte_count(actor_host["requests"]["memory"]) >= 253 * 10**6


# --- every value takes effect ----------------------------------------------------------------

# A value tested with others set first (it only matters then).
CONTEXT: dict[tuple[str, ...], dict[str, Any]] = {
    ("frontEnd", "replicaCount"): {"frontEnd": {"autoscaling": {"enabled": False}}},
    ("actorHost", "replicaCount"): {"actorHost": {"autoscaling": {"enabled": False}}},
    ("kafka", "auth", "secret"): {"kafka": {"auth": {"type": "password"}}},
    ("kafka", "auth", "saslMechanism"): {"kafka": {"auth": {"type": "password"}}},
    ("kafka", "auth", "saslUsername", "secret"): {"kafka": {"auth": {"type": "password"}}},
    ("kafka", "auth", "saslUsername", "key"): {"kafka": {"auth": {"type": "password"}}},
    ("kafka", "auth", "saslPassword", "secret"): {"kafka": {"auth": {"type": "password"}}},
    ("kafka", "auth", "saslPassword", "key"): {"kafka": {"auth": {"type": "password"}}},
    ("kafka", "auth", "clientCert", "secret"): {
        "kafka": {"auth": {"type": "mtls"}, "tls": {"caCert": {"key": "ca.crt"}}}
    },
    ("kafka", "auth", "clientCert", "key"): {
        "kafka": {"auth": {"type": "mtls"}, "tls": {"caCert": {"key": "ca.crt"}}}
    },
    ("kafka", "auth", "clientKey", "secret"): {
        "kafka": {"auth": {"type": "mtls"}, "tls": {"caCert": {"key": "ca.crt"}}}
    },
    ("kafka", "auth", "clientKey", "key"): {
        "kafka": {"auth": {"type": "mtls"}, "tls": {"caCert": {"key": "ca.crt"}}}
    },
    ("kafka", "tls", "caCert", "secret"): {
        "kafka": {"auth": {"type": "certificate"}, "tls": {"caCert": {"key": "ca.crt"}}}
    },
    ("kafka", "tls", "caCert", "key"): {"kafka": {"auth": {"type": "password"}}},
    ("kafka", "tls", "skipVerify"): {"kafka": {"auth": {"type": "password"}}},
    ("kafka", "tls", "disable"): {"kafka": {"auth": {"type": "password"}}},
}
# Values with a fixed set of choices: another valid one.
OTHER_CHOICE: dict[tuple[str, ...], Any] = {
    ("image", "pullPolicy"): "Always",
    ("dapr", "logLevel"): "debug",
    ("kafka", "auth", "type"): "password",
    ("kafka", "auth", "saslMechanism"): "SHA-256",
    ("extraEnv",): [{"name": "EXTRA", "value": "1"}],
}


def leaves(values: dict[str, Any], path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for key, value in values.items():
        if isinstance(value, dict) and value:
            yield from leaves(value, (*path, key))
        else:
            yield (*path, key)


def context_of(path: tuple[str, ...]) -> dict[str, Any]:
    """Values under which this one matters: its section enabled, plus CONTEXT's."""
    out: dict[str, Any] = {}
    for depth in range(1, len(path)):
        section = dig(VALUES, path[:depth])
        if "enabled" in section and not section["enabled"] and path[depth] != "enabled":
            out = merged(out, nested((*path[:depth], "enabled"), True))
    return merged(out, CONTEXT.get(path, {}))


def changed(path: tuple[str, ...], value: Any) -> Any:
    if path in OTHER_CHOICE:
        return OTHER_CHOICE[path]
    if value is None or isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return round(value + 0.1, 6)
    if isinstance(value, str):
        return value + "x" if value else "x"
    if isinstance(value, list):
        return ["x"]
    if value == {}:
        return {"x": "y"}
    raise AssertionError(f"{'.'.join(path)}: no other value for {value!r}")


def test_every_value_in_values_yaml_changes_the_rendered_chart() -> None:
    def effect(path: tuple[str, ...]) -> str | None:
        context = context_of(path)
        before = render_text(context)
        other = merged(context, nested(path, changed(path, dig(VALUES, path))))
        try:
            after = render_text(other)
        except RenderError as exc:
            return f"{'.'.join(path)}: changed to {json.dumps(other)}, the chart fails: {exc}"
        return None if after != before else f"{'.'.join(path)} changes nothing"

    with ThreadPoolExecutor(max_workers=4) as pool:
        problems = [p for p in pool.map(effect, list(leaves(VALUES))) if p]
    assert not problems, "\n".join(problems)
