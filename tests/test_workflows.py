"""deploy.yml and preview.yml against the stack layout (regions/stacks.py), offline and without GitHub.

The workflows are loaded with yaml and run on paper: a small evaluator of GitHub's expression language (the part
these workflows use: literals, context paths, `!`, `==`, `!=`, `&&`, `||`, `format`, `fromJSON` and the status
functions) decides each job's `if:`, with GitHub's implicit `success()`, which looks at every ancestor job, so a
job downstream of a skipped one is skipped unless its condition says otherwise. Each matrix is expanded from the
layout job's outputs, as .github/scripts/stack_matrices.py writes them for the real layout, and every leg records
the stack its `pulumi up` (or preview, or `make verify`) names, its runner, environment, permissions and the jobs
before it. The checks are functions returning problems; each also runs on a broken copy of a workflow, to show
it can fail.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from offline.layout import as_json, layout

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
ENVIRONMENTS = ("dev", "prod")
RUN_ID, RUN_ATTEMPT = "4242", "3"
CODEBUILD_LABEL = "codebuild-${{ matrix.runnerProject }}-${{ github.run_id }}-${{ github.run_attempt }}"
ORG = "acme"
VARS = {"PULUMI_ORG": ORG, "AWS_ROLE_ARN_DEV": "role-dev", "AWS_ROLE_ARN_PROD": "role-prod",
        "AWS_PREVIEW_ROLE_ARN_DEV": "preview-role-dev", "AWS_PREVIEW_ROLE_ARN_PROD": "preview-role-prod"}
SHA_PIN = re.compile(r"^[^@\s]+@[0-9a-f]{40}$")


def _script() -> ModuleType:
    path = ROOT / ".github" / "scripts" / "stack_matrices.py"
    spec = importlib.util.spec_from_file_location("stack_matrices", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


matrices = _script()
DOCS: dict[str, dict[str, Any]] = {env: as_json(layout(env)) for env in ENVIRONMENTS}
STACKS: dict[str, dict[str, Any]] = {s["name"]: {**s, "environment": env}
                                     for env, doc in DOCS.items() for s in doc["stacks"]}


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(data, dict)
    return data


# ------------------------------------------------------------------------------------------ expressions

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||[!(),])"
                    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*))")
STATUS_FUNCTIONS = ("success", "failure", "cancelled", "always")


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos, text = [], 0, text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ValueError(f"cannot read the expression at {text[pos:]!r}")
        kind = match.lastgroup
        assert kind is not None
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    """Recursive descent, lowest precedence first: || then && then == != then ! then a primary."""

    def __init__(self, text: str) -> None:
        self.tokens, self.i = _tokens(text), 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise ValueError(f"expected {value or 'more'} at token {self.i} of {self.tokens}")
        self.i += 1
        return token

    def parse(self) -> Any:
        node = self.or_()
        if self.peek() is not None:
            raise ValueError(f"trailing {self.tokens[self.i:]}")
        return node

    def or_(self) -> Any:
        node = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            node = ("or", node, self.and_())
        return node

    def and_(self) -> Any:
        node = self.eq()
        while self.peek() == ("op", "&&"):
            self.take()
            node = ("and", node, self.eq())
        return node

    def eq(self) -> Any:
        node = self.unary()
        while self.peek() in (("op", "=="), ("op", "!=")):
            op = self.take()[1]
            node = ("eq" if op == "==" else "ne", node, self.unary())
        return node

    def unary(self) -> Any:
        if self.peek() == ("op", "!"):
            self.take()
            return ("not", self.unary())
        return self.primary()

    def primary(self) -> Any:
        kind, value = self.take()
        if value == "(":
            node = self.or_()
            self.take(")")
            return node
        if kind == "str":
            return ("lit", value[1:-1].replace("''", "'"))
        if kind == "num":
            return ("lit", float(value))
        if kind != "name":
            raise ValueError(f"unexpected {value!r}")
        if value in ("true", "false", "null"):
            return ("lit", {"true": True, "false": False, "null": None}[value])
        if self.peek() == ("op", "("):
            self.take()
            args = []
            while self.peek() != ("op", ")"):
                args.append(self.or_())
                if self.peek() == ("op", ","):
                    self.take()
            self.take(")")
            return ("call", value, args)
        return ("path", value.split("."))


def truthy(value: Any) -> bool:
    return value not in (None, False, 0, "") and value == value  # NaN is falsy


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    return bool(a == b)


@dataclass
class Status:
    ancestors: list[str]  # results of every ancestor job

    def call(self, name: str) -> bool:
        return {"success": all(r == "success" for r in self.ancestors),
                "failure": any(r == "failure" for r in self.ancestors),
                "cancelled": False, "always": True}[name]


def evaluate(text: str, ctx: dict[str, Any], status: Status | None = None) -> Any:
    def ev(node: Any) -> Any:
        op = node[0]
        if op == "lit":
            return node[1]
        if op == "path":
            value: Any = ctx
            for part in node[1]:
                value = value.get(part) if isinstance(value, dict) else None
            return value
        if op == "not":
            return not truthy(ev(node[1]))
        if op == "and":
            left = ev(node[1])
            return ev(node[2]) if truthy(left) else left
        if op == "or":
            left = ev(node[1])
            return left if truthy(left) else ev(node[2])
        if op in ("eq", "ne"):
            return _equal(ev(node[1]), ev(node[2])) == (op == "eq")
        name, args = node[1], [ev(a) for a in node[2]]
        if name in STATUS_FUNCTIONS:
            if status is None:
                raise ValueError(f"{name}() outside a job condition")
            return status.call(name)
        if name == "format":
            return re.sub(r"\{(\d+)\}", lambda m: _render(args[1 + int(m.group(1))]), args[0])
        if name == "fromJSON":
            return json.loads(args[0])
        raise ValueError(f"no function {name}() here")
    return ev(_Parser(text).parse())


def _render(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def interpolate(value: Any, ctx: dict[str, Any]) -> Any:
    """A workflow value with its `${{ }}` evaluated: a whole-expression string keeps the value's type."""
    if isinstance(value, dict):
        return {k: interpolate(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, ctx) for v in value]
    if not isinstance(value, str):
        return value
    whole = _EXPR.fullmatch(value.strip())
    if whole:
        return evaluate(whole.group(1), ctx)
    return _EXPR.sub(lambda m: _render(evaluate(m.group(1), ctx)), value)


def job_condition(text: Any, ctx: dict[str, Any], status: Status) -> bool:
    """A job's `if:`, with GitHub's implicit `success() &&` when it calls no status function."""
    if text is None:
        return status.call("success")
    text = str(text).strip()
    whole = _EXPR.fullmatch(text)
    if whole:
        text = whole.group(1)
    if not re.search(r"\b(" + "|".join(STATUS_FUNCTIONS) + r")\(", text):
        text = f"success() && ({text})"
    return truthy(evaluate(text, ctx, status))


# ------------------------------------------------------------------------------------------ a run on paper

@dataclass
class Step:
    uses: str | None
    with_: dict[str, Any]
    env: dict[str, Any]
    run: str | None


@dataclass
class Leg:
    job: str
    matrix: dict[str, Any]
    runs_on_raw: Any
    runs_on: Any
    environment: str | None
    concurrency: dict[str, Any] | None
    permissions: Any
    steps: list[Step]

    def pulumi(self, command: str) -> list[Step]:
        return [s for s in self.steps
                if (s.uses or "").startswith("pulumi/actions@") and s.with_.get("command") == command]

    @property
    def oidc(self) -> bool:
        return any((s.uses or "").startswith("aws-actions/configure-aws-credentials@") for s in self.steps)

    def stacks(self, command: str) -> list[str]:
        return [bare(s.with_["stack-name"]) for s in self.pulumi(command)]

    @property
    def verified(self) -> list[str]:
        return [s.env.get("STACK", "") for s in self.steps if s.run and "make verify" in s.run]


def bare(stack_name: str) -> str:
    return stack_name.removeprefix(f"{ORG}/global-platform/")


@dataclass
class Run:
    workflow: dict[str, Any]
    results: dict[str, str]
    ancestors: dict[str, set[str]]
    legs: list[Leg] = field(default_factory=list)

    def deployed(self) -> dict[str, Leg]:
        """stack -> the leg whose `pulumi up` deployed it (a stack deployed twice is a problem of its own)."""
        return {stack: leg for leg in self.legs for stack in leg.stacks("up")}

    def before(self, first: str, then: str) -> bool:
        """Job `first` finishes before job `then` starts (an ancestor through `needs`)."""
        return first in self.ancestors[then]


def _needs(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


def _ancestors(jobs: dict[str, Any]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}

    def visit(name: str) -> set[str]:
        if name not in out:
            out[name] = set()
            for need in _needs(jobs[name]):
                out[name] |= {need, *visit(need)}
        return out[name]
    for name in jobs:
        visit(name)
    return out


def _order(jobs: dict[str, Any]) -> Iterator[str]:
    done: set[str] = set()
    while len(done) < len(jobs):
        ready = [n for n in jobs if n not in done and set(_needs(jobs[n])) <= done]
        assert ready, f"a cycle among {set(jobs) - done}"
        for name in ready:
            done.add(name)
            yield name


def layout_outputs(workflow: str, first_deploy: bool = False) -> dict[str, str]:
    """What the layout job's `matrices` step puts in $GITHUB_OUTPUT, for the real layout."""
    values = matrices.deploy_matrices(DOCS, first_deploy) if workflow == "deploy" else matrices.preview_matrices(DOCS)
    text = matrices.github_output(values)
    return dict(line.split("=", 1) for line in text.splitlines())


def simulate(workflow: dict[str, Any], *, first_deploy: bool = False, configured: bool = True,
             outputs: dict[str, str] | None = None, event: dict[str, Any] | None = None,
             vars_: dict[str, str] | None = None) -> Run:
    jobs: dict[str, Any] = workflow["jobs"]
    kind = "preview" if event else "deploy"
    steps_outputs = {"check": {"outputs": {"configured": "true" if configured else "false"}},
                     "matrices": {"outputs": outputs if outputs is not None else layout_outputs(kind, first_deploy)}}
    base = {"github": {"ref": "refs/heads/main", "run_id": RUN_ID, "run_attempt": RUN_ATTEMPT, "sha": "c0ffee",
                       "repository": f"{ORG}/global-platform", "event": event or {}},
            "vars": VARS if vars_ is None else vars_,
            "secrets": {"PULUMI_ACCESS_TOKEN": "t", "CLOUDFLARE_API_TOKEN": "c"},
            "inputs": {"first_deploy": True} if first_deploy else {}}
    run = Run(workflow, {}, _ancestors(jobs))
    job_outputs: dict[str, dict[str, Any]] = {}
    for name in _order(jobs):
        job = jobs[name]
        ctx = {**base, "needs": {n: {"result": run.results[n], "outputs": job_outputs.get(n, {})} for n in _needs(job)}}
        status = Status([run.results[a] for a in run.ancestors[name]])
        if not job_condition(job.get("if"), ctx, status):
            run.results[name] = "skipped"
            continue
        run.results[name] = "success"
        job_outputs[name] = interpolate(job.get("outputs", {}), {**ctx, "steps": steps_outputs})
        if "uses" in job:  # a called workflow (ci.yml)
            continue
        matrix = job.get("strategy", {}).get("matrix")
        include = [{}] if matrix is None else interpolate(matrix["include"], ctx)
        assert include, f"{name} runs with an empty matrix (GitHub fails the job)"
        for entry in include:
            lctx = {**ctx, "matrix": entry}
            env = interpolate(job.get("environment"), lctx)
            run.legs.append(Leg(
                job=name, matrix=entry, runs_on_raw=job.get("runs-on"), runs_on=interpolate(job.get("runs-on"), lctx),
                environment=env.get("name") if isinstance(env, dict) else env,
                concurrency=interpolate(job.get("concurrency"), lctx), permissions=job.get("permissions"),
                steps=[Step(s.get("uses"), interpolate(s.get("with", {}), {**lctx, "env": {}}),
                            interpolate(s.get("env", {}), lctx), s.get("run")) for s in job.get("steps", [])]))
    return run


# ------------------------------------------------------------------------------------------ checks

def runner_problems(run: Run, command: str = "up") -> list[str]:
    """Cluster stacks on their region's CodeBuild runner as its service role; every other stack GitHub-hosted + OIDC."""
    problems = []
    for leg in run.legs:
        for stack in leg.stacks(command):
            info = STACKS[stack]
            perms = leg.permissions if isinstance(leg.permissions, dict) else {}
            if info["inVpc"]:
                want = f"codebuild-{info['runnerProject']}-{RUN_ID}-{RUN_ATTEMPT}"
                if leg.runs_on_raw != CODEBUILD_LABEL or leg.runs_on != want:
                    problems.append(f"{stack} runs on {leg.runs_on!r}, not {want!r} ({CODEBUILD_LABEL})")
                if leg.oidc or "id-token" in perms:
                    problems.append(f"{stack}: an OIDC role on the CodeBuild runner (it has the project's role)")
            else:
                if not isinstance(leg.runs_on, str) or leg.runs_on.startswith("codebuild-") \
                        or not leg.runs_on.startswith("ubuntu-"):
                    problems.append(f"{stack} ({info['layer']}) runs on {leg.runs_on!r}, not a GitHub-hosted runner")
                if not leg.oidc or perms.get("id-token") != "write":
                    problems.append(f"{stack} ({info['layer']}) reaches AWS without its OIDC step")
    return problems


def coverage_problems(run: Run, environments: tuple[str, ...] = ENVIRONMENTS, command: str = "up") -> list[str]:
    """Every stack of the layout exactly once, nothing else."""
    names = [stack for leg in run.legs for stack in leg.stacks(command)]
    want = {s["name"] for env in environments for s in DOCS[env]["stacks"]}
    problems = [f"{n} {command} {names.count(n)} times" for n in sorted(set(names)) if names.count(n) > 1]
    if set(names) != want:
        problems.append(f"missing {sorted(want - set(names))}, extra {sorted(set(names) - want)}")
    return problems


def environment_problems(run: Run, command: str = "up") -> list[str]:
    """A stack's jobs run in its environment, with its guardrail config, role and a per-stack lock."""
    problems = []
    for leg in run.legs:
        for step in leg.pulumi(command):
            stack = bare(step.with_["stack-name"])
            env = STACKS[stack]["environment"]
            if step.with_["stack-name"] != f"{ORG}/global-platform/{stack}":
                problems.append(f"{stack}: stack-name {step.with_['stack-name']!r}")
            # Each stack runs the pack with its layer's config (offline/policy_configs.py).
            if (step.with_.get("policyPacks"), step.with_.get("policyPackConfigs")) \
                    != ("policies", f"policies/config/{env}-{STACKS[stack]['layer']}.json"):
                problems.append(f"{stack}: guardrail pack {step.with_.get('policyPacks')!r} "
                                f"{step.with_.get('policyPackConfigs')!r}")
            if command == "up":
                if leg.environment != env:
                    problems.append(f"{stack} deploys in environment {leg.environment!r}, not {env!r}")
                lock = leg.concurrency or {}
                if lock.get("group") != f"pulumi-up-{stack}" or lock.get("cancel-in-progress") is not False:
                    problems.append(f"{stack}: concurrency {lock}, not its own group without cancelling")
            roles = [s.with_.get("role-to-assume") for s in leg.steps
                     if s.uses and "configure-aws-credentials" in s.uses]
            want_role = VARS[f"AWS_{'PREVIEW_' if command == 'preview' else ''}ROLE_ARN_{env.upper()}"]
            if any(r != want_role for r in roles):
                problems.append(f"{stack} assumes {roles}, not {want_role}")
    for leg in run.legs:
        for stack in leg.verified:
            env = STACKS[stack]["environment"] if stack in STACKS else None
            if leg.environment != env:
                problems.append(f"make verify {stack} in environment {leg.environment!r}, not {env!r}")
    return problems


def _jobs_of(run: Run, environment: str) -> dict[tuple[str, str | None], str]:
    """(layer, region) -> the job deploying it, for one environment."""
    return {(STACKS[s]["layer"], STACKS[s]["region"]): leg.job for s, leg in run.deployed().items()
            if s in STACKS and STACKS[s]["environment"] == environment}


def _verify_jobs(run: Run) -> dict[str, set[str]]:
    """job -> the stacks its legs verify."""
    out: dict[str, set[str]] = {}
    for leg in run.legs:
        for stack in leg.verified:
            out.setdefault(leg.job, set()).add(stack)
    return out


def wave_problems(run: Run, environment: str) -> list[str]:
    """Steady state: the manifest's waves in order, each region infra -> replicas -> cluster, `make verify` of a
    wave's infra stacks after it and before the next wave, global after every infra stack and the last verify."""
    doc, jobs, problems = DOCS[environment], _jobs_of(run, environment), []
    waves = doc["waves"]
    if environment == "prod" and len(waves) < 2:
        problems.append(f"prod deploys in {len(waves)} wave(s)")
    for region in sorted({r for _, r in jobs if r is not None}):
        chain = [jobs.get((layer, region)) for layer in ("infra", "replicas", "cluster")]
        if not all(chain) or not all(run.before(a, b) for a, b in pairwise(chain) if a and b):
            problems.append(f"{environment} {region}: not infra -> replicas -> cluster ({chain})")
    first = {r for (layer, r), job in jobs.items() if layer == "infra" and r is not None
             and not any(run.before(j, job) for (lay, s), j in jobs.items() if lay == "cluster" and s != r)}
    if first != set(waves[0]):
        problems.append(f"{environment}: the first regions deployed are {sorted(first)}, the manifest's first "
                        f"wave is {waves[0]}")
    for wave in waves:
        for layer in ("infra", "replicas", "cluster"):
            if len({jobs.get((layer, r)) for r in wave}) != 1:
                problems.append(f"{environment} wave {wave}: {layer} is not one matrix job")
    verifies = _verify_jobs(run)
    for i, wave in enumerate(waves):
        infra = {s["name"] for s in doc["stacks"] if s["layer"] == "infra" and s["region"] in wave}
        after = [jobs.get(("cluster", r)) for r in wave]
        nxt = [jobs.get(("infra", r)) for r in waves[i + 1]] if i + 1 < len(waves) else []
        if not any(stacks == infra and all(a is not None and run.before(a, v) for a in after)
                   and all(n is not None and run.before(v, n) for n in nxt) for v, stacks in verifies.items()):
            problems.append(f"{environment} wave {i + 1} {wave}: no `make verify` of {sorted(infra)} after it"
                            + (" and before the next wave" if nxt else ""))
    glob = jobs.get(("global", None))
    last_infra = {s["name"] for s in doc["stacks"] if s["layer"] == "infra" and s["region"] in waves[-1]}
    if glob is None or not all(run.before(j, glob) for (lay, _), j in jobs.items() if lay == "infra"):
        problems.append(f"{environment}: global ({glob}) does not follow every infra stack")
    elif not any(stacks == last_infra and run.before(v, glob) for v, stacks in verifies.items()):
        problems.append(f"{environment}: global does not follow the last wave's `make verify`")
    return problems


def read_problems(run: Run, environment: str, first_deploy: bool) -> list[str]:
    """A stack deploys after every stack it reads; in steady state except a later wave's (seen as it was) and
    global's outputs in the cluster stacks (global deploys last; the logins are made once)."""
    doc, deployed, problems = DOCS[environment], run.deployed(), []
    wave_of = {r: i for i, wave in enumerate(doc["waves"]) for r in wave}
    for stack in doc["stacks"]:
        if stack["name"] not in deployed:
            continue
        for read in stack["reads"]:
            info = STACKS[read]
            if not first_deploy:
                if stack["layer"] == "cluster" and info["layer"] == "global":
                    continue
                if stack["region"] and info["region"] and wave_of[info["region"]] > wave_of[stack["region"]]:
                    continue
            if read not in deployed or not run.before(deployed[read].job, deployed[stack["name"]].job):
                problems.append(f"{stack['name']} deploys before {read}, which it reads")
    return problems


def first_deploy_problems(run: Run, environment: str) -> list[str]:
    """Layer by layer, every region at once: all infra, all replicas, global, all clusters, then verify."""
    doc, deployed = DOCS[environment], run.deployed()
    by_layer: dict[str, set[str]] = {}
    for stack in doc["stacks"]:
        if stack["name"] in deployed:
            by_layer.setdefault(stack["layer"], set()).add(deployed[stack["name"]].job)
    problems = [f"{environment}: {layer} in {len(jobs)} jobs on a first deploy" for layer, jobs in by_layer.items()
                if len(jobs) != 1]
    infra = {s["name"] for s in doc["stacks"] if s["layer"] == "infra"}
    mine = {leg.job for stack, leg in deployed.items() if STACKS[stack]["environment"] == environment}
    if not any(stacks == infra and all(run.before(job, v) for job in mine)
               for v, stacks in _verify_jobs(run).items()):
        problems.append(f"{environment}: no `make verify` of every infra stack after the first deploy")
    return problems


def order_problems(run: Run) -> list[str]:
    """ci before anything deploys; dev entirely before prod."""
    deployed, problems = run.deployed(), []
    for stack, leg in deployed.items():
        if not run.before("ci", leg.job):
            problems.append(f"{stack} deploys without ci before it")
    dev = {leg.job for s, leg in deployed.items() if STACKS[s]["environment"] == "dev"} | {
        leg.job for leg in run.legs if any(STACKS.get(v, {}).get("environment") == "dev" for v in leg.verified)}
    for stack, leg in deployed.items():
        if STACKS[stack]["environment"] == "prod" and not dev <= run.ancestors[leg.job]:
            problems.append(f"{stack} does not wait for all of dev ({sorted(dev - run.ancestors[leg.job])})")
    return problems


def hygiene_problems(workflow: dict[str, Any]) -> list[str]:
    """permissions: {} on top and per job, id-token only with OIDC, SHA pins, no expression inside `run:`."""
    problems = [] if workflow.get("permissions") == {} else ["top-level permissions are not {}"]
    for name, job in workflow["jobs"].items():
        perms = job.get("permissions")
        if not isinstance(perms, dict):
            problems.append(f"{name}: no permissions of its own")
            continue
        steps = job.get("steps", [])
        oidc = any("configure-aws-credentials" in (s.get("uses") or "") for s in steps)
        if (perms.get("id-token") == "write") != oidc:
            problems.append(f"{name}: id-token {perms.get('id-token')!r} with{'out' if not oidc else ''} an OIDC step")
        for scope, level in perms.items():
            if level == "write" and scope not in ("id-token", "pull-requests"):
                problems.append(f"{name}: {scope}: write")
        for step in steps:
            uses = step.get("uses") or ""
            if uses and not uses.startswith("./") and not SHA_PIN.match(uses):
                problems.append(f"{name}: {uses} is not pinned to a commit")
            if "${{" in (step.get("run") or ""):
                problems.append(f"{name}: an expression inside run: (pass it through env:)")
        if name not in ("ci", "credentials", "layout") and job.get("strategy", {}).get("fail-fast", True) is not False \
                and "matrix" in job.get("strategy", {}):
            problems.append(f"{name}: a failing leg would cancel the others half-way (fail-fast)")
    return problems


# ------------------------------------------------------------------------------------------ the tests

@pytest.fixture
def deploy() -> dict[str, Any]:
    return load("deploy.yml")


@pytest.fixture
def preview() -> dict[str, Any]:
    return load("preview.yml")


def _all(run: Run, first_deploy: bool) -> list[str]:
    problems = runner_problems(run) + coverage_problems(run) + environment_problems(run) + order_problems(run)
    for env in ENVIRONMENTS:
        problems += read_problems(run, env, first_deploy)
        problems += first_deploy_problems(run, env) if first_deploy else wave_problems(run, env)
    return problems


def test_the_layout_job_writes_what_the_matrices_read(deploy: dict[str, Any]) -> None:
    job = deploy["jobs"]["layout"]
    produced = set(layout_outputs("deploy"))
    assert set(job["outputs"]) == produced
    assert all(v == f"${{{{ steps.matrices.outputs.{k} }}}}" for k, v in job["outputs"].items())
    read = set(re.findall(r"needs\.layout\.outputs\.([A-Za-z0-9_]+)", (WORKFLOWS / "deploy.yml").read_text()))
    assert read <= produced, read - produced
    step = next(s for s in job["steps"] if s.get("id") == "matrices")
    assert "stack_matrices.py deploy" in step["run"] and "--first-deploy" in step["run"]
    assert step["env"] == {"FIRST_DEPLOY": "${{ inputs.first_deploy }}"}
    assert any("refs/heads/main" in (s.get("run") or "") for s in job["steps"]), "deploys from main only"
    raw: dict[Any, Any] = deploy  # yaml reads the key `on` as True
    dispatch = (raw["on"] if "on" in raw else raw[True])["workflow_dispatch"]["inputs"]["first_deploy"]
    assert dispatch["type"] == "boolean" and dispatch["default"] is False


def test_matrices_are_the_layout() -> None:
    out = matrices.deploy_matrices(DOCS)
    for env in ENVIRONMENTS:
        waves = [[e["region"] for e in out[f"{env}_wave{i}"]] for i in range(1, len(DOCS[env]["waves"]) + 1)]
        assert waves == DOCS[env]["waves"]
        for entry in (e for i in range(1, len(waves) + 1) for e in out[f"{env}_wave{i}"]):
            for layer in ("infra", "replicas", "cluster"):
                assert STACKS[entry[layer]]["layer"] == layer and STACKS[entry[layer]]["region"] == entry["region"]
            assert entry["runnerProject"] == STACKS[entry["cluster"]]["runnerProject"]
        assert out[f"{env}_global"] == f"{env}-global"
    first = matrices.deploy_matrices(DOCS, first_deploy=True)
    assert {e["region"] for e in first["prod_wave1"]} == {r for w in DOCS["prod"]["waves"] for r in w}


def test_a_manifest_with_another_number_of_waves_stops_the_layout_job() -> None:
    docs = copy.deepcopy(DOCS)
    docs["prod"]["waves"] = [[r] for w in docs["prod"]["waves"] for r in w]
    with pytest.raises(matrices.LayoutMismatch, match="wave"):
        matrices.deploy_matrices(docs)
    docs = copy.deepcopy(DOCS)
    docs["dev"]["waves"] = [docs["dev"]["waves"][0][:1]]
    with pytest.raises(matrices.LayoutMismatch, match="once"):
        matrices.deploy_matrices(docs)


@pytest.mark.parametrize("first_deploy", [False, True], ids=["push", "first-deploy"])
def test_deploy(deploy: dict[str, Any], first_deploy: bool) -> None:
    run = simulate(deploy, first_deploy=first_deploy)
    assert _all(run, first_deploy) == []
    assert hygiene_problems(deploy) == []


def test_prod_waves_are_the_manifests(deploy: dict[str, Any]) -> None:
    run = simulate(deploy)
    jobs = _jobs_of(run, "prod")
    canary = DOCS["prod"]["waves"][0]
    assert len(DOCS["prod"]["waves"]) >= 2
    assert [leg.matrix["region"] for leg in run.legs if leg.job == jobs[("infra", canary[0])]] == canary
    assert all(leg.environment == "prod" for leg in run.legs
               if any(STACKS.get(s, {}).get("environment") == "prod" for s in leg.stacks("up") + leg.verified))


def test_nothing_deploys_without_pulumi_credentials(deploy: dict[str, Any]) -> None:
    run = simulate(deploy, configured=False)
    assert [leg.job for leg in run.legs if leg.stacks("up") or leg.verified] == []


def test_stacks_names_without_an_organization(deploy: dict[str, Any]) -> None:
    run = simulate(deploy, vars_={**VARS, "PULUMI_ORG": ""})
    assert sorted(run.deployed()) == sorted(s for s in STACKS)
    assert all(step.with_["stack-name"] in STACKS for leg in run.legs for step in leg.pulumi("up"))


def _job(workflow: dict[str, Any], layer: str, environment: str, wave: int = 1) -> str:
    run = simulate(workflow)
    region = DOCS[environment]["waves"][wave - 1][0]
    return _jobs_of(run, environment)[(layer, None if layer == "global" else region)]


BREAKAGES: dict[str, tuple[Callable[[dict[str, Any]], None], Callable[[Run], list[str]], bool]] = {}


def breakage(name: str, check: Callable[[Run], list[str]], first_deploy: bool = False) -> Callable[..., Any]:
    def register(edit: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
        BREAKAGES[name] = (edit, check, first_deploy)
        return edit
    return register


@breakage("a cluster job on a GitHub-hosted runner", runner_problems)
def _cluster_hosted(wf: dict[str, Any]) -> None:
    wf["jobs"][_job(wf, "cluster", "prod", 2)]["runs-on"] = "ubuntu-latest"


@breakage("a cluster job on another project's runner", runner_problems)
def _cluster_wrong_project(wf: dict[str, Any]) -> None:
    label = "codebuild-dev-use1-deploy-runner-${{ github.run_id }}-${{ github.run_attempt }}"
    wf["jobs"][_job(wf, "cluster", "dev")]["runs-on"] = label  # every dev region on us-east-1's runner


@breakage("an infra job on the in-VPC runner", runner_problems)
def _infra_codebuild(wf: dict[str, Any]) -> None:
    wf["jobs"][_job(wf, "infra", "prod", 1)]["runs-on"] = CODEBUILD_LABEL


@breakage("the global job on the in-VPC runner", runner_problems)
def _global_codebuild(wf: dict[str, Any]) -> None:
    wf["jobs"][_job(wf, "global", "prod")]["runs-on"] = "codebuild-prod-use1-deploy-runner"


@breakage("wave 2 not waiting for the canary's make verify", lambda run: wave_problems(run, "prod"))
def _skip_verify(wf: dict[str, Any]) -> None:
    job = wf["jobs"][_job(wf, "infra", "prod", 2)]
    verify = next(n for n in job["needs"] if "verify" in n)
    cluster = _job(wf, "cluster", "prod", 1)
    job["needs"] = [cluster if n == verify else n for n in job["needs"]]
    job["if"] = job["if"].replace(f"needs.{verify}.result", f"needs.{cluster}.result")


@breakage("a region's replicas before its infra", lambda run: wave_problems(run, "prod"))
def _replicas_early(wf: dict[str, Any]) -> None:
    job = wf["jobs"][_job(wf, "replicas", "prod", 2)]
    old, new = _job(wf, "infra", "prod", 2), next(n for n in wf["jobs"][_job(wf, "infra", "prod", 2)]["needs"]
                                                  if n != "layout")
    job["needs"] = ["layout", new]
    job["if"] = job["if"].replace(f"needs.{old}.result", f"needs.{new}.result")


@breakage("the waves swapped", lambda run: wave_problems(run, "prod"))
def _swap_waves(wf: dict[str, Any]) -> None:
    text = json.dumps(wf).replace("prod_wave1", "prod_waveX").replace("prod_wave2", "prod_wave1")
    wf.clear()
    wf.update(json.loads(text.replace("prod_waveX", "prod_wave2")))


@breakage("global before the last wave", lambda run: wave_problems(run, "prod"))
def _global_early(wf: dict[str, Any]) -> None:
    job = wf["jobs"][_job(wf, "global", "prod")]
    old = next(n for n in job["needs"] if n != "layout")
    new = _job(wf, "cluster", "prod", 1)
    job["needs"] = ["layout", new]
    job["if"] = job["if"].replace(f"needs.{old}.result", f"needs.{new}.result")


@breakage("a prod job outside the prod environment", environment_problems)
def _no_environment(wf: dict[str, Any]) -> None:
    del wf["jobs"][_job(wf, "replicas", "prod", 2)]["environment"]


@breakage("dev's guardrail config in prod", environment_problems)
def _wrong_pack_config(wf: dict[str, Any]) -> None:
    for step in wf["jobs"][_job(wf, "cluster", "prod", 1)]["steps"]:
        if step.get("with", {}).get("command") == "up":
            step["with"]["policyPackConfigs"] = "policies/config/dev-cluster.json"


@breakage("another layer's guardrail config", environment_problems)
def _other_layer_pack_config(wf: dict[str, Any]) -> None:
    for step in wf["jobs"][_job(wf, "cluster", "prod", 1)]["steps"]:
        if step.get("with", {}).get("command") == "up":
            step["with"]["policyPackConfigs"] = "policies/config/prod-infra.json"


@breakage("an update cancelled by a newer one", environment_problems)
def _cancel_in_progress(wf: dict[str, Any]) -> None:
    wf["jobs"][_job(wf, "infra", "dev")]["concurrency"]["cancel-in-progress"] = True


@breakage("a job downstream of a skipped one with the implicit success()", coverage_problems)
def _implicit_success(wf: dict[str, Any]) -> None:
    wf["jobs"][_job(wf, "replicas", "prod", 1)].pop("if", None)


@breakage("first deploy: clusters before global", lambda run: read_problems(run, "prod", True), first_deploy=True)
def _cluster_before_global(wf: dict[str, Any]) -> None:
    job = wf["jobs"][_job(wf, "cluster", "prod", 1)]
    first = next(n for n in job["needs"] if "global" in n)
    job["needs"] = [n for n in job["needs"] if n != first]
    job["if"] = "${{ !cancelled() && needs." + _job(wf, "replicas", "prod", 1) + ".result == 'success' }}"


@breakage("prod not waiting for dev", order_problems)
def _prod_without_dev(wf: dict[str, Any]) -> None:
    job = wf["jobs"][_job(wf, "infra", "prod", 1)]
    job["needs"] = ["ci", "layout"]
    job["if"] = "needs.layout.result == 'success'"


@pytest.mark.parametrize("name", sorted(BREAKAGES))
def test_each_check_catches_its_breakage(deploy: dict[str, Any], name: str) -> None:
    edit, check, first_deploy = BREAKAGES[name]
    broken = copy.deepcopy(deploy)
    edit(broken)
    assert check(simulate(deploy, first_deploy=first_deploy)) == []
    assert check(simulate(broken, first_deploy=first_deploy)) != []


def test_a_region_missing_from_the_matrices_is_caught(deploy: dict[str, Any]) -> None:
    outputs = layout_outputs("deploy")
    outputs["prod_wave2"] = json.dumps(json.loads(outputs["prod_wave2"])[1:])
    assert coverage_problems(simulate(deploy, outputs=outputs)) != []


def test_hygiene_catches_an_unpinned_action_and_an_expression_in_run(deploy: dict[str, Any]) -> None:
    broken = copy.deepcopy(deploy)
    steps = broken["jobs"]["prod-global"]["steps"]
    steps[0]["uses"] = "actions/checkout@v5"
    steps.append({"run": "echo ${{ github.event.head_commit.message }}"})
    broken["jobs"]["dev-cluster"]["permissions"]["id-token"] = "write"
    problems = hygiene_problems(broken)
    assert any("pinned" in p for p in problems) and any("run:" in p for p in problems)
    assert any(p.startswith("dev-cluster: id-token") for p in problems)


SAME_REPO = {"pull_request": {"number": 7, "head": {"repo": {"full_name": f"{ORG}/global-platform"}}}}
FORK = {"pull_request": {"number": 8, "head": {"repo": {"full_name": "someone/global-platform"}}}}


def test_preview(preview: dict[str, Any]) -> None:
    run = simulate(preview, event=SAME_REPO)
    assert runner_problems(run, "preview") == []
    assert coverage_problems(run, command="preview") == []
    assert environment_problems(run, "preview") == []
    assert hygiene_problems(preview) == []
    assert all(step.with_.get("comment-on-pr") is True for leg in run.legs for step in leg.pulumi("preview"))
    assert [leg.job for leg in simulate(preview, event=SAME_REPO, configured=False).legs if leg.stacks("preview")] == []


def test_a_forks_pull_request_never_reaches_the_in_vpc_runner(preview: dict[str, Any]) -> None:
    def on_codebuild(workflow: dict[str, Any]) -> list[str]:
        run = simulate(workflow, event=FORK)  # even were its secrets there
        return [leg.job for leg in run.legs if str(leg.runs_on).startswith("codebuild-")]
    assert on_codebuild(preview) == []
    broken = copy.deepcopy(preview)
    broken["jobs"]["preview-cluster"]["if"] = "needs.credentials.outputs.configured == 'true'"
    assert on_codebuild(broken) != []


def test_the_expression_evaluator() -> None:
    ctx = {"a": {"b-c": "x"}, "n": None, "inputs": {}}
    assert evaluate("a.b-c == 'X' && !n", ctx) is True
    assert evaluate("n || 'fallback'", ctx) == "fallback"
    assert evaluate("format('{0}/{1}', a.b-c, 'y')", ctx) == "x/y"
    assert evaluate("!inputs.first_deploy", ctx) is True
    assert job_condition("inputs.first_deploy", ctx, Status(["success"])) is False
    assert job_condition(None, ctx, Status(["success", "skipped"])) is False  # GitHub's transitive skip
    assert job_condition("${{ !cancelled() }}", ctx, Status(["skipped"])) is True
    assert interpolate("p-${{ a.b-c }}-${{ n }}", ctx) == "p-x-"
