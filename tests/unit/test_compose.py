"""docker-compose.yml, checked without a Docker engine: the Compose Specification's schema, the services and
profiles the README documents, and every command a container runs parsed by the sagalab CLI."""

from __future__ import annotations

import argparse
import copy
import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from sagalab.cli import parser
from scenarios.catalogue import SCENARIOS
from scenarios.topologies import services
from shared.config import MODES, Mode

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
SCHEMA = ROOT / "tests" / "data" / "compose-spec.json"

# A participant's .env: the password has no default, so the tests supply one.
SERVICE_PASSWORDS = {f"SAGALAB_PASSWORD_{s.upper()}": f"{s}-pw7" for s in ("orders", "payment", "inventory", "shipping",
                                                                            "orchestrator")}  # fmt: skip
ENV = {"RABBITMQ_USER": "sagalab", "RABBITMQ_PASSWORD": "workshop-7", "SAGALAB_NAMESPACE": "lab", **SERVICE_PASSWORDS}

# What the README and the compose file's header promise.
DOCUMENTED: dict[Mode, set[str]] = {
    "choreography": {"orders", "payment", "inventory", "shipping"},
    "orchestration": {"orchestrator", "payment", "inventory", "shipping"},
}
DOCUMENTED_COMMANDS = (
    "docker compose up -d rabbitmq",
    "docker compose --profile users run --rm users",
    "docker compose --profile choreography --profile orchestration up -d",
    "docker compose --profile scenario run --rm scenario",
    "docker compose --profile tests run --rm tests",
)


# ---- compose: Docker's ${VAR} interpolation, enough of it for this file ----

_VARIABLE = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))")
_BRACED = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>.*))?", re.DOTALL)


class MissingVariable(Exception):
    """A ``${VAR:?message}`` whose variable is unset or empty: Compose refuses the file."""


def _substitute(match: re.Match[str], env: Mapping[str, str]) -> str:
    if match["escaped"]:
        return "$"
    if name := match["named"]:
        return env.get(name, "")
    braced = _BRACED.fullmatch(match["braced"])
    assert braced, f"unsupported interpolation {match[0]!r}"
    name, op, arg = braced["name"], braced["op"], braced["arg"]
    value = env.get(name)
    present = value is not None if op in ("-", "?") else bool(value)
    if op is None or present:
        return value or ""
    if op.endswith("?"):
        raise MissingVariable(f"{name}: {arg}")
    return arg


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Substitute ``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}`` (and the forms without ':')."""
    if isinstance(value, str):
        return _VARIABLE.sub(lambda m: _substitute(m, env), value)
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    return value


def load_compose(env: Mapping[str, str] = ENV) -> dict[str, Any]:
    """The compose file as Compose sees it: YAML with its merge keys resolved, then interpolated."""
    document: dict[str, Any] = interpolate(yaml.safe_load(COMPOSE.read_text()), env)
    return document


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


def _built_from(spec: Mapping[str, Any]) -> str | None:
    """The Dockerfile stage a service is built from, or None for a pulled image."""
    build = spec.get("build")
    return build.get("target") if isinstance(build, dict) else None


def _sagalab_services(compose: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: spec for name, spec in compose["services"].items() if _built_from(spec)}


def _option(argv: list[str], name: str) -> str:
    assert name in argv, f"{' '.join(argv)} has no {name}"
    return argv[argv.index(name) + 1]


@dataclass(frozen=True)
class Served:
    """A compose service that runs ``sagalab serve``."""

    name: str
    mode: str
    service: str
    argv: list[str]
    spec: dict[str, Any] = field(repr=False)

    def volume_at(self, target: str) -> str:
        sources: list[str] = [v.split(":")[0] for v in self.spec.get("volumes", []) if v.split(":")[1] == target]
        assert len(sources) == 1, f"{self.name} mounts {len(sources)} volumes at {target}"
        return sources[0]


def _served(compose: Mapping[str, Any]) -> list[Served]:
    found = []
    for name, spec in _sagalab_services(compose).items():
        argv = spec.get("command") or []
        if argv[:1] == ["serve"]:
            found.append(Served(name, _option(argv, "--mode"), argv[1], argv, spec))
    return found


def _validator() -> jsonschema.protocols.Validator:
    # The schema names draft 2019-09 by an address jsonschema does not know ("http://...#"), so say it here.
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft201909Validator.check_schema(schema)
    return jsonschema.Draft201909Validator(schema)


def _parse(argv: list[str]) -> argparse.Namespace:
    try:
        return parser().parse_args(argv)
    except SystemExit as exc:  # argparse's way of refusing an option; its message is in the captured stderr
        pytest.fail(f"`sagalab {shlex.join(argv)}` does not parse (exit {exc.code})")


def test_the_compose_file_validates_against_the_compose_specification(compose: dict[str, Any]) -> None:
    """docker-compose.yml, interpolated as Compose does, is valid under the Compose Specification's JSON Schema."""
    errors = sorted(_validator().iter_errors(compose), key=lambda e: list(map(str, e.absolute_path)))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_the_vendored_schema_refuses_a_misspelt_key(compose: dict[str, Any]) -> None:
    """The schema is strict enough to mean something: a misspelt service key or a wrong type fails it."""
    broken = copy.deepcopy(compose)
    broken["services"]["rabbitmq"]["healthchek"] = broken["services"]["rabbitmq"].pop("healthcheck")
    assert not _validator().is_valid(broken)
    broken = copy.deepcopy(compose)
    broken["services"]["scenario"]["profiles"] = "scenario"
    assert not _validator().is_valid(broken)


def test_the_header_documents_the_commands_to_run_the_stack() -> None:
    """The compose file's opening comments give the four commands that start and use the stack."""
    header = "\n".join(line for line in COMPOSE.read_text().splitlines() if line.startswith("#"))
    for command in DOCUMENTED_COMMANDS:
        assert command in header, f"the header does not say `{command}`"


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_profile_runs_the_documented_services(compose: dict[str, Any], mode: Mode) -> None:
    """`choreography` runs orders, payment, inventory, shipping; `orchestration` the orchestrator and those three."""
    in_profile = [s for s in _served(compose) if s.spec.get("profiles") == [mode]]
    assert {s.service for s in in_profile} == DOCUMENTED[mode] == set(services(mode))
    assert len(in_profile) == len(DOCUMENTED[mode]), "a service runs twice"
    assert all(s.mode == mode for s in in_profile), "a service runs in the other mode"
    assert all(s.spec.get("restart") == "on-failure" for s in in_profile)


def test_every_served_service_belongs_to_its_own_mode_profile(compose: dict[str, Any]) -> None:
    """No service of the stack runs without a profile or in a profile not named after its mode."""
    assert _served(compose), "no service runs `sagalab serve`"
    for served in _served(compose):
        assert served.spec.get("profiles") == [served.mode], served.name


def test_the_scenario_and_tests_profiles_are_one_shot_runners(compose: dict[str, Any]) -> None:
    """`scenario` (lab image) and `tests` (tests image) each sit in a profile of their own name and never restart."""
    scenario, tests = compose["services"]["scenario"], compose["services"]["tests"]
    assert scenario["profiles"] == ["scenario"] and _built_from(scenario) == "lab"
    assert tests["profiles"] == ["tests"] and _built_from(tests) == "tests"
    assert scenario["restart"] == tests["restart"] == "no"
    assert _option(scenario["command"], "--attach") and scenario["command"][0] == "compare"


def test_each_service_keeps_its_database_on_its_own_volume(compose: dict[str, Any]) -> None:
    """Every served service mounts a named volume of its own at its --data-dir, declared at the top level."""
    seen: dict[str, str] = {}
    for served in _served(compose):
        volume = served.volume_at(_option(served.argv, "--data-dir"))
        assert volume in (compose.get("volumes") or {}), f"{volume} is not a named volume"
        assert volume not in seen, f"{served.name} and {seen.get(volume)} share {volume}"
        seen[volume] = served.name


def test_the_scenario_sees_each_service_where_attach_looks(compose: dict[str, Any]) -> None:
    """The scenario mounts each service's volume at <attach>/<mode>/<service>; the services use <namespace>-<mode>."""
    scenario = compose["services"]["scenario"]
    stack, namespace = _option(scenario["command"], "--attach"), _option(scenario["command"], "--namespace")
    mounts = set(scenario["volumes"])
    for served in _served(compose):
        volume = served.volume_at(_option(served.argv, "--data-dir"))
        assert f"{volume}:{stack}/{served.mode}/{served.service}" in mounts, served.name
        assert _option(served.argv, "--namespace") == f"{namespace}-{served.mode}", served.name


def test_no_service_uses_guest_credentials(compose: dict[str, Any]) -> None:
    """The broker's user and every AMQP_URL come from the environment, never guest/guest: each served service logs
    in as its own user <namespace>-<mode>.<service> with its own password, the one-shot runners as the admin."""
    broker_env = compose["services"]["rabbitmq"]["environment"]
    assert (broker_env["RABBITMQ_DEFAULT_USER"], broker_env["RABBITMQ_DEFAULT_PASS"]) == (
        ENV["RABBITMQ_USER"],
        ENV["RABBITMQ_PASSWORD"],
    )
    served = {s.name: s for s in _served(compose)}
    for name, spec in _sagalab_services(compose).items():
        url = urlsplit(spec["environment"]["AMQP_URL"])
        if name in served:
            s = served[name]
            own = (f"{ENV['SAGALAB_NAMESPACE']}-{s.mode}.{s.service}", ENV[f"SAGALAB_PASSWORD_{s.service.upper()}"])
            assert (url.username, url.password) == own, name
        else:
            assert (url.username, url.password) == (ENV["RABBITMQ_USER"], ENV["RABBITMQ_PASSWORD"]), name
        assert url.hostname == "rabbitmq", f"{name} does not reach the compose broker"
    assert "guest" not in json.dumps(compose)


def test_the_users_container_creates_the_user_each_served_service_logs_in_as(compose: dict[str, Any]) -> None:
    """`users` provisions both modes' namespaces with the passwords of .env, so every served service's login exists."""
    users = compose["services"]["users"]
    args = _parse(users["command"])
    assert args.command == "users" and args.passwords_from_env and users["profiles"] == ["users"]
    assert set(SERVICE_PASSWORDS) <= set(users["environment"])
    for s in _served(compose):
        assert urlsplit(s.spec["environment"]["AMQP_URL"]).username == f"{_option(s.argv, '--namespace')}.{s.service}"
        assert _option(s.argv, "--namespace") in args.namespaces, s.name


def test_the_broker_password_has_no_default() -> None:
    """Without RABBITMQ_PASSWORD, Compose refuses the file instead of starting a broker with a known password."""
    with pytest.raises(MissingVariable, match="RABBITMQ_PASSWORD"):
        load_compose({k: v for k, v in ENV.items() if k != "RABBITMQ_PASSWORD"})


def test_env_example_names_every_variable_the_compose_file_reads() -> None:
    """.env.example lists exactly the variables the compose file interpolates."""
    used: set[str] = set()
    for match in _VARIABLE.finditer(COMPOSE.read_text()):
        if match["named"]:
            used.add(match["named"])
        elif braced := _BRACED.fullmatch(match["braced"] or ""):
            used.add(braced["name"])
    lines = [line.strip() for line in ENV_EXAMPLE.read_text().splitlines()]
    listed = {line.split("=", 1)[0] for line in lines if line and not line.startswith("#")}
    assert used == listed


def test_rabbitmq_is_a_pinned_management_image_with_a_health_check(compose: dict[str, Any]) -> None:
    """The broker is rabbitmq:X.Y.Z-management at 3.13 or newer, publishes AMQP and the UI, and has a health check."""
    rabbit = compose["services"]["rabbitmq"]
    pinned = re.fullmatch(r"rabbitmq:(\d+)\.(\d+)\.(\d+)-management", rabbit["image"])
    assert pinned, f"{rabbit['image']} is not pinned to a patch release of a management image"
    assert tuple(map(int, pinned.groups()[:2])) >= (3, 13)
    assert {"5672:5672", "15672:15672"} <= set(rabbit["ports"])
    assert rabbit["healthcheck"]["test"] == ["CMD", "rabbitmq-diagnostics", "-q", "check_port_connectivity"]


def test_the_broker_image_and_host_ports_can_be_a_local_stand_in_beside_another_broker() -> None:
    """RABBITMQ_IMAGE swaps the broker for the stand-in scripts/local-images.sh builds; RABBITMQ_PORT and
    RABBITMQ_UI_PORT publish it on other host ports when a RabbitMQ already listens on 5672 and 15672."""
    local = {"RABBITMQ_IMAGE": "localhost/sagalab-rabbitmq:3-management", "RABBITMQ_PORT": "5682",
             "RABBITMQ_UI_PORT": "15682"}  # fmt: skip
    rabbit = load_compose({**ENV, **local})["services"]["rabbitmq"]
    assert rabbit["image"] == local["RABBITMQ_IMAGE"]
    assert set(rabbit["ports"]) == {"5682:5672", "15682:15672"}
    empty = load_compose({**ENV, **dict.fromkeys(local, "")})["services"]["rabbitmq"]  # .env.example's blanks
    assert empty["image"] == "rabbitmq:3.13.7-management" and set(empty["ports"]) == {"5672:5672", "15672:15672"}


def test_every_sagalab_service_waits_for_a_healthy_broker(compose: dict[str, Any]) -> None:
    """Every sagalab container starts only once the broker is healthy; each served one also retries the broker."""
    for name, spec in _sagalab_services(compose).items():
        assert spec["depends_on"] == {"rabbitmq": {"condition": "service_healthy"}}, name
    for served in _served(compose):
        assert float(_option(served.argv, "--wait-for-broker")) > 0, served.name


def test_every_command_a_service_runs_parses_in_the_cli(compose: dict[str, Any]) -> None:
    """Each lab-image service's command is a valid `sagalab` command line; `serve` names a service of its mode."""
    lab = {name: spec for name, spec in _sagalab_services(compose).items() if _built_from(spec) == "lab"}
    assert lab
    for name, spec in lab.items():
        args = _parse(spec["command"])
        if args.command == "serve":
            assert args.service in services(args.mode), f"{name}: no {args.service} in {args.mode}"
            assert args.wait_for_broker > 0 and args.data_dir == Path("/data"), name
        elif args.command in ("run", "compare"):
            assert args.scenario in SCENARIOS, f"{name}: no scenario {args.scenario}"
            assert args.attach == Path("/stack"), name


def test_the_cluster_profile_is_three_broker_nodes_that_find_each_other_and_postgresql() -> None:
    """``--profile cluster``: three nodes of the broker image, each named by its hostname, all sharing one cookie
    and a peer-discovery file that lists exactly those three nodes; PostgreSQL with its image a variable (a local
    stand-in on machines without a registry) and no password by default."""
    compose = load_compose({**ENV, "RABBITMQ_IMAGE": "localhost/sagalab-rabbitmq:3-management",
                            "POSTGRES_IMAGE": "localhost/sagalab-postgres:15"})  # fmt: skip
    cluster = {name: spec for name, spec in compose["services"].items() if spec.get("profiles") == ["cluster"]}
    assert set(cluster) == {"rabbitmq-1", "rabbitmq-2", "rabbitmq-3", "postgres"}
    nodes = [cluster[f"rabbitmq-{n}"] for n in (1, 2, 3)]
    assert {node["image"] for node in nodes} == {"localhost/sagalab-rabbitmq:3-management"}
    assert len({node["environment"]["RABBITMQ_ERLANG_COOKIE"] for node in nodes}) == 1
    conf_mounts = {v.split(":")[0] for node in nodes for v in node["volumes"] if "conf.d" in v}
    assert len(conf_mounts) == 1
    conf = (ROOT / conf_mounts.pop()).read_text()
    listed = set(re.findall(r"classic_config\.nodes\.\d+ = (\S+)", conf))
    assert listed == {f"rabbit@{node['hostname']}" for node in nodes}
    assert "peer_discovery_backend = classic_config" in conf
    assert cluster["postgres"]["image"] == "localhost/sagalab-postgres:15"
    assert load_compose()["services"]["postgres"]["image"] == "postgres:16.4"
    assert load_compose()["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"] == ""
