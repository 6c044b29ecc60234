"""Run the real program on Pulumi's mock engine and record every registration the engine would see."""

from __future__ import annotations

import concurrent.futures
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import struct_pb2
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor, MockResourceArgs
from pulumi.runtime.proto import resource_pb2, source_pb2
from pulumi.runtime.settings import ROOT, SETTINGS, get_project, get_root_resource, get_stack
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from offline import stack_files
from offline.mocks import PlatformMocks, StackOutputs
from program.config import PROJECT

STACK_TYPE = "pulumi:pulumi:Stack"
ORGANIZATION = "organization"


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    region: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    dependencies: list[str]
    protect: bool
    # Input property -> the URNs its value came from (what CrossGuard's property_dependencies carries).
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    ignore_changes: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)  # full URNs this registration answers to as well


class InvalidInput(Exception):
    """The program refused its input (stack config or manifest); carries what was registered by then."""

    def __init__(self, message: str, registrations: list[Registration]) -> None:
        super().__init__(message)
        self.registrations = registrations


@dataclass
class PlanRun:
    project: str
    stack: str
    resources: list[Registration]
    exports: dict[str, Any] = field(default_factory=dict)
    secret_exports: frozenset[str] = frozenset()  # the outputs the engine would store as secrets
    preview: bool = False  # planned as a first `pulumi preview` sees it (outputs unknown)

    @property
    def outputs(self) -> StackOutputs:
        """What a StackReference to this stack reads once it is deployed."""
        return StackOutputs(self.exports, self.secret_exports)


def _is_resource(urn: str) -> bool:
    """True for a resource's URN; False for none ("") and for the root stack, which the plan leaves out."""
    return bool(urn) and urn.split("::")[2] != STACK_TYPE


class RecordingMonitor(MockMonitor):
    """The SDK's mock monitor, plus: real-engine URNs and a record of each registration's options."""

    def __init__(self, mocks: PlatformMocks, preview: bool = False) -> None:
        super().__init__(mocks)
        self.platform_mocks = mocks
        # A first `pulumi preview`: nothing exists yet, so a resource's outputs are unknown (the engine sends
        # only its inputs back), and inputs computed from them arrive unknown.
        self.preview = preview
        self.registrations: list[Registration] = []
        self._regions: dict[str, str | None] = {}  # urn -> region

    def GetDeploymentInfo(self, request: Any) -> Any:
        # Without alias specs the SDK sends every alias as a full URN, which the URN snapshot compares directly.
        info = super().GetDeploymentInfo(request)
        features = [f for f in info.supportedFeatures if f != resource_pb2.RESOURCE_MONITOR_FEATURE_ALIAS_SPECS]
        return resource_pb2.DeploymentInfo(supportedFeatures=features)

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # The engine qualifies a child's type with its parent's whole type chain, except the root stack's.
        if _is_resource(parent):
            type_ = f"{parent.split('::')[2]}${type_}"
        return "urn:pulumi:" + "::".join([get_stack(), get_project(), type_, name])

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == STACK_TYPE:
            return resource_pb2.RegisterResourceResponse(urn=urn)
        _ensure_event_loop()
        inputs = rpc.deserialize_properties(request.object, keep_unknowns=True)
        custom = bool(request.custom)
        region = self._region(request, inputs, custom)
        rid, state = self.mocks.new_resource(MockResourceArgs(
            typ=request.type, name=request.name, inputs=inputs, provider=request.provider,
            resource_id=request.importId, custom=custom))
        if self.preview and custom and not request.type.startswith("pulumi:providers:"):
            rid, state = "", dict(inputs)  # unknown id and outputs: what the engine answers before a create
        # The engine returns the outputs a resource declares secret (a generated password) as secrets.
        state = {k: rpc.wrap_rpc_secret(v) if k in request.additionalSecretOutputs else v for k, v in state.items()}
        if request.type.startswith("pulumi:providers:"):
            self.platform_mocks.provider_regions[f"{urn}::{rid}"] = region
        self._regions[urn] = region
        self.registrations.append(Registration(
            urn=urn, type=request.type, name=request.name, custom=custom,
            parent=request.parent if _is_resource(request.parent) else None,
            provider=request.provider.rsplit("::", 1)[0] if request.provider else None,
            region=region, inputs=inputs, outputs=state, dependencies=sorted(request.dependencies),
            property_dependencies={k: sorted(v.urns) for k, v in sorted(request.propertyDependencies.items())
                                   if v.urns},
            protect=bool(request.protect), ignore_changes=sorted(request.ignoreChanges),
            aliases=sorted(request.aliasURNs)))
        obj = _serialize(state)
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, rid or "", state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=rid or "", object=obj)

    def ReadResource(self, request: Any) -> Any:
        """A read (the program's StackReferences): answered by the mocks and recorded, as the engine keeps it.

        The record keeps the referenced stack's name and which outputs are secret, not the outputs themselves
        (those are in that stack's own plan).
        """
        response = super().ReadResource(request)
        urn = self.make_urn(request.parent, request.type, request.name)
        state = self.resources[urn].state
        self._regions[urn] = None
        self.registrations.append(Registration(
            urn=urn, type=request.type, name=request.name, custom=True,
            parent=request.parent if _is_resource(request.parent) else None, provider=None, region=None,
            inputs={"name": state.get("name")}, outputs={"name": state.get("name"),
                                                         "secretOutputNames": state.get("secretOutputNames", [])},
            dependencies=sorted(request.dependencies), protect=False))
        return response

    def _region(self, request: Any, inputs: dict[str, Any], custom: bool) -> str | None:
        """The AWS region a resource lands in, as docs/plan.md defines it for the plan document."""
        if request.type == "pulumi:providers:aws":
            return inputs.get("region")
        parent_region = self._regions.get(request.parent)
        if request.type.startswith("pulumi:providers:"):
            # A cluster's Kubernetes or Kafka provider is created inside that cluster's region; top-level
            # providers (Cloudflare, random) have none.
            return parent_region
        if not custom:
            aws_ref = request.providers.get("aws")
            return self.platform_mocks.region_of(aws_ref) if aws_ref else parent_region
        return inputs.get("region") or self.platform_mocks.region_of(request.provider)


_SCALARS = (str, int, float, bool, type(None))


def _plain(value: Any, path: str) -> Any:
    """``value`` as the SDK's serializer would send it, for the data mocked outputs are made of.

    Scalars, lists and dicts with string keys stay as they are (a secret is already its signature dict); an
    unknown (a first preview's) becomes the engine's unknown sentinel. Anything else (a resource, an Output)
    would need the SDK's async serializer, and pumping the event loop from inside the monitor can wait on the
    very registration being answered: refused by name instead.
    """
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, pulumi.output.Unknown):
        return rpc.UNKNOWN
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _plain(v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, f"{path}[{i}]") for i, v in enumerate(value)]
    raise TypeError(f"the mock engine cannot send {type(value).__name__} back as an output ({path})")


def _serialize(state: dict[str, Any]) -> struct_pb2.Struct:
    """A resource's outputs as the engine sends them back (the SDK's serializer gives the same Struct for them)."""
    struct = struct_pb2.Struct()
    struct.update({k: _plain(v, k) for k, v in state.items()})
    return struct


class _InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs each call to the monitor on the event loop's own thread, when it is made.

    The SDK hands every RPC to the loop's default executor because a real engine is a gRPC server; the mock
    monitor is a Python object, and a thread hop per registration only buys GIL hand-offs.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


def _no_stack_trace() -> source_pb2.StackTrace:
    return source_pb2.StackTrace()


@contextmanager
def _offline_runtime() -> Iterator[None]:
    """What one run of the program on the mock engine changes in the process, undone when it ends.

    - Monitor calls run inline (`_InlineExecutor`).
    - No stack trace per registration: the SDK walks the Python stack of every resource to send the engine
      its source position, which only the Pulumi service displays; the recording monitor never reads it.
    - No cyclic garbage collection during the run: what a run allocates lives until the plan is written, so
      full collections would walk the growing object graph again and again for nothing (half of the
      registration time of a region's stack). The collector is restored afterwards.
    """
    loop = _ensure_event_loop()
    executor = _InlineExecutor(max_workers=1)
    previous_executor = getattr(loop, "_default_executor", None)
    stack_trace = sdk_resource._get_stack_trace  # private: tests/test_engine_runtime.py pins that the SDK calls it
    collecting = gc.isenabled()
    loop.set_default_executor(executor)
    sdk_resource._get_stack_trace = _no_stack_trace
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
        sdk_resource._get_stack_trace = stack_trace
        loop._default_executor = previous_executor  # set_default_executor refuses None
        executor.shutdown(wait=False)


def run(stack: str, program: Callable[[], object] | None = None, *, manifest: Path | None = None,
        config: dict[str, str] | None = None, secret_keys: list[str] | None = None,
        stack_outputs: dict[str, StackOutputs] | None = None, preview: bool = False) -> PlanRun:
    """Run ``program`` (default: the project's) for ``stack`` with its stack file's config.

    ``stack_outputs`` answers the program's StackReferences (the outputs of the stacks it reads). Bad input
    surfaces as ``InvalidInput`` (or ``ConfigError`` when the stack file itself is unreadable) after the
    engine settles; any other exception propagates unchanged.
    """
    if config is None:
        config, secret_keys = stack_files.read(stack)
    mocks = PlatformMocks(account_id=config.get(f"{PROJECT}:awsAccountId", "123456789012"),
                          stack_outputs=stack_outputs)
    monitor = RecordingMonitor(mocks, preview)
    ROOT.set(None)  # a fresh root stack per run, as each `pulumi up` has
    pulumi.runtime.set_all_config(config, secret_keys or [])
    # The organization a self-managed backend names every stack with (`organization/<project>/<stack>`).
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor,
                             organization=ORGANIZATION)
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()

    if program is None:
        from program.main import run as program_main

        def program() -> None:
            program_main(manifest)

    exports: dict[str, Any] = {}
    secret: set[str] = set()

    async def main() -> None:
        program()
        root = get_root_resource()
        outputs = getattr(root, "outputs", {}) or {}
        exports.update(await pulumi.Output.from_input(dict(outputs)).future() or {})
        for key, value in outputs.items():
            if await pulumi.Output.from_input(value).is_secret():
                secret.add(key)

    try:
        with _offline_runtime():
            _sync_await(run_pulumi_func(main))
    except pulumi.RunError as exc:
        raise InvalidInput(str(exc), monitor.registrations) from None
    return PlanRun(PROJECT, stack, monitor.registrations, exports, frozenset(secret), preview)
