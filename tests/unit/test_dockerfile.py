"""The Dockerfile, checked without a Docker engine: its stages, user, installs and copied paths, and that the
image owns every directory docker-compose.yml mounts a volume on."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from typing import Any

import pytest

from .test_compose import DOCKERFILE, ENV, ROOT, _sagalab_services, load_compose

# ---- Dockerfile: a small parser of its instructions, by stage ----


@dataclass
class Stage:
    """One FROM ... AS name block of the Dockerfile, its instructions as (KEYWORD, arguments)."""

    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def _logical_lines(text: str) -> list[str]:
    lines, pending = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue  # comments may sit between continued lines too
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    return lines


def global_args() -> dict[str, str]:
    """The ARGs before the first FROM, with their defaults: what a FROM line may name as ${ARG}."""
    found: dict[str, str] = {}
    for line in _logical_lines(DOCKERFILE.read_text()):
        keyword, _, args = line.partition(" ")
        if keyword.upper() == "FROM":
            break
        assert keyword.upper() == "ARG", f"{line} before any FROM"
        name, _, default = args.strip().partition("=")
        found[name] = default
    return found


def dockerfile_stages(build_args: dict[str, str] | None = None) -> dict[str, Stage]:
    """The stages, each base resolved as the builder would with ``build_args`` (else the ARG defaults)."""
    values = {**global_args(), **(build_args or {})}
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for line in _logical_lines(DOCKERFILE.read_text()):
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = args.split()
            assert len(words) == 3 and words[1].upper() == "AS", f"unnamed stage: {line}"
            base = re.sub(r"\$\{(\w+)\}", lambda m: values[m[1]], words[0])
            current = stages[words[2]] = Stage(words[2], base)
        elif current is None and keyword == "ARG":
            continue  # a global ARG, read by global_args()
        else:
            assert current, f"{line} before any FROM"
            current.instructions.append((keyword, args.strip()))
    return stages


def _flags_and_words(args: str) -> tuple[dict[str, str], list[str]]:
    words = shlex.split(args)
    flags = dict(w[2:].partition("=")[::2] for w in words if w.startswith("--"))
    return flags, [w for w in words if not w.startswith("--")]


def _owned_dirs(stage: Stage) -> set[str]:
    """Directories a RUN creates with ``install -d -o sagalab``."""
    owned: set[str] = set()
    for run in stage.all("RUN"):
        words = shlex.split(run)
        for i, word in enumerate(words):
            if word == "install" and words[i + 1 : i + 4] == ["-d", "-o", "sagalab"]:
                rest = words[i + 4 :]
                owned |= {w for w in rest[: rest.index("&&") if "&&" in rest else None] if w.startswith("/")}
    return owned


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


@pytest.fixture(scope="module")
def stages() -> dict[str, Stage]:
    return dockerfile_stages()


def test_the_dockerfile_has_build_lab_and_tests_stages(stages: dict[str, Stage]) -> None:
    """A build stage makes the wheel, `lab` runs it on a slim Python that pyproject accepts, `tests` builds on `lab`."""
    assert {"build", "lab", "tests"} <= set(stages)
    assert any("pip wheel" in run and "--no-deps" in run for run in stages["build"].all("RUN"))
    slim = re.fullmatch(r"python:3\.(\d+)-slim", stages["lab"].base)
    assert slim, f"the lab stage is based on {stages['lab'].base}, not a slim Python"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requires = re.fullmatch(r">=3\.(\d+)", project["requires-python"])
    assert requires and int(slim[1]) >= int(requires[1]), "the base Python is older than pyproject requires"
    assert stages["tests"].base == "lab"


def test_the_base_image_is_a_build_arg_defaulting_to_the_public_python(stages: dict[str, Stage]) -> None:
    """Both Python stages start from ${PYTHON_IMAGE} (python:3.11-slim unless a stand-in is passed), and compose passes
    PYTHON_IMAGE to both builds, so `PYTHON_IMAGE=... compose build` reaches every stage."""
    assert global_args() == {"PYTHON_IMAGE": "python:3.11-slim"}
    stand_in = dockerfile_stages({"PYTHON_IMAGE": "localhost/sagalab-python:3.11-slim"})
    assert stand_in["build"].base == stand_in["lab"].base == "localhost/sagalab-python:3.11-slim"
    assert stand_in["tests"].base == "lab"
    for env in ({}, {"PYTHON_IMAGE": "localhost/sagalab-python:3.11-slim"}):
        built = _sagalab_services(load_compose({**ENV, **env}))
        assert {spec["build"]["args"]["PYTHON_IMAGE"] for spec in built.values()} == {
            env.get("PYTHON_IMAGE", "python:3.11-slim")}  # fmt: skip


def test_the_lab_stage_runs_sagalab_as_a_non_root_user(stages: dict[str, Stage]) -> None:
    """The final image runs `sagalab` as user sagalab (uid 10001), in a /app it owns."""
    lab = stages["lab"]
    assert lab.all("USER")[-1] == "sagalab"
    assert any("useradd --uid 10001" in run and run.split("&&")[0].split()[-1] == "sagalab" for run in lab.all("RUN"))
    assert json.loads(lab.all("ENTRYPOINT")[-1]) == ["sagalab"]
    assert lab.all("WORKDIR")[-1] == "/app" and "/app" in _owned_dirs(lab)


def test_the_lab_stage_installs_only_the_wheel_and_its_runtime_dependencies(stages: dict[str, Stage]) -> None:
    """No test extras, no editable install, no compilers and no pip cache in the image the services run."""
    runs = " ".join(stages["lab"].all("RUN"))
    assert "[test]" not in runs and " -e " not in runs and "apt-get" not in runs
    installs = [run for run in stages["lab"].all("RUN") if "pip install" in run]
    assert installs and all("--no-cache-dir" in run and "from=build" in run for run in installs)


def test_the_tests_stage_adds_the_extras_chromium_and_the_suite(stages: dict[str, Stage]) -> None:
    """`tests` adds the test extras and Debian's chromium (no recommends, no apt lists), copies tests/, runs pytest."""
    tests = stages["tests"]
    apt = next(run for run in tests.all("RUN") if "apt-get install" in run)
    assert "--no-install-recommends" in apt and "chromium" in apt.split() and "rm -rf /var/lib/apt/lists/*" in apt
    assert any("[test]" in run for run in tests.all("RUN"))
    assert any(_flags_and_words(copied)[1][0] == "tests" for copied in tests.all("COPY"))
    # Every folder the suite reads as files, not only imports: the example participants' tests read their source.
    copied_dirs = {_flags_and_words(copied)[1][0] for copied in tests.all("COPY")}
    assert {"docs", "tests", "examples", "scenarios", "orchestration"} <= copied_dirs, copied_dirs
    assert tests.all("USER")[-1] == "sagalab"
    assert json.loads(tests.all("ENTRYPOINT")[-1]) == ["pytest"]


def test_every_path_the_dockerfile_copies_is_in_the_build_context(stages: dict[str, Stage]) -> None:
    """Each COPY source exists in the repository and is not left out by .dockerignore."""
    ignored = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines() if p.strip()[:1] not in ("", "#")]
    for stage in stages.values():
        for copied in stage.all("COPY") + stage.all("ADD"):
            flags, words = _flags_and_words(copied)
            if "from" in flags:
                continue
            for source in words[:-1]:
                assert (ROOT / source).exists(), f"{stage.name}: COPY {source}: no such path"
                assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), f"{source} is dockerignored"


def test_the_build_stage_copies_every_package_pyproject_installs(stages: dict[str, Stage]) -> None:
    """A package added to pyproject's package list is also copied into the build stage, so the wheel has it."""
    includes = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    copied = {_flags_and_words(c)[1][0] for c in stages["build"].all("COPY")}
    assert {pattern.rstrip("*") for pattern in includes} <= copied


def test_the_build_context_leaves_out_local_state() -> None:
    """.dockerignore keeps the virtualenv, git, run folders, databases and the .env (the password) out of the image."""
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".sagalab", ".env", "*.db"} <= ignored


def test_the_image_owns_every_directory_compose_mounts_a_volume_on(
    compose: dict[str, Any], stages: dict[str, Stage]
) -> None:
    """Each volume a sagalab container mounts lands on an image directory sagalab owns, so a new volume is writable."""
    owned = _owned_dirs(stages["lab"])
    for name, spec in _sagalab_services(compose).items():
        for mount in spec.get("volumes", []):
            source, target = mount.split(":")[:2]
            if source in (compose.get("volumes") or {}):
                assert target in owned, f"{name} mounts {source} on {target}, which the image does not create"
