"""What a run on the mock engine changes in the process (offline/engine.py `_offline_runtime`), and that it
changes nothing the plan records: monitor calls inline, no stack traces, no cyclic collection, all undone."""

from __future__ import annotations

import gc
import inspect
import threading

import pulumi
import pulumi_aws as aws
import pulumi_random as random
import pytest
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime import rpc
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from offline import engine

CONFIG = {"aws:region": "us-east-1"}


def _program() -> None:
    password = random.RandomPassword("db", length=24, special=False)
    key = aws.kms.Key("data", description="data key", enable_key_rotation=True)
    aws.secretsmanager.Secret("db", name="dev/db", kms_key_id=key.arn, tags={"team": "platform", "tier": "data"})
    aws.secretsmanager.SecretVersion("db", secret_id="db", secret_string=password.result)


def test_a_run_registers_what_the_sdk_would_and_restores_the_process() -> None:
    loop = _ensure_event_loop()
    executor, hook = getattr(loop, "_default_executor", None), sdk_resource._get_stack_trace
    assert gc.isenabled()
    threads: set[str] = set()
    new_resource = engine.PlatformMocks.new_resource

    def recording(self: engine.PlatformMocks, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        threads.add(threading.current_thread().name)
        assert not gc.isenabled(), "the collector runs during a run"
        assert sdk_resource._get_stack_trace is engine._no_stack_trace
        return new_resource(self, args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine.PlatformMocks, "new_resource", recording)
        run = engine.run("dev-us-east-1", program=_program, config=CONFIG)

    assert sorted(r.name for r in run.resources) == ["data", "db", "db", "db"]
    assert threads == {threading.current_thread().name}, "monitor calls left the loop's thread"
    version = next(r for r in run.resources if r.type == "aws:secretsmanager/secretVersion:SecretVersion")
    assert rpc.is_rpc_secret(version.inputs["secretString"]), "the password reached the monitor unmasked"
    secret = next(r for r in run.resources if r.type == "aws:secretsmanager/secret:Secret")
    assert secret.property_dependencies["kmsKeyId"] == [r.urn for r in run.resources if r.name == "data"]
    assert gc.isenabled()
    assert sdk_resource._get_stack_trace is hook
    assert getattr(loop, "_default_executor", None) is executor


def test_a_failing_program_restores_the_process_too() -> None:
    def failing() -> None:
        aws.kms.Key("data", description="data key")
        raise pulumi.RunError("refused: regions/dev.yaml: regions[0].name: unknown region")

    hook = sdk_resource._get_stack_trace
    with pytest.raises(engine.InvalidInput, match="unknown region"):
        engine.run("dev-us-east-1", program=failing, config=CONFIG)
    assert gc.isenabled()
    assert sdk_resource._get_stack_trace is hook


def test_the_sdk_still_takes_each_registrations_stack_trace_from_the_hook_the_engine_replaces() -> None:
    # An SDK upgrade that renames or inlines the hook would leave the engine patching nothing (and planning
    # slower): this fails first.
    assert "_get_stack_trace()" in inspect.getsource(sdk_resource.register_resource)
    assert not engine._no_stack_trace().frames


STATES = {
    "plain": {"arn": "arn:aws:kms:us-east-1:123456789012:key/k", "rotation": True, "days": 7, "ratio": 0.5,
              "tags": {"team": "platform"}, "subnets": ["a", "b"], "nested": [{"x": None}], "empty": {}},
    "secret": {"result": rpc.wrap_rpc_secret("hunter2"), "length": 24},
    "unknown": {"id": rpc.UNKNOWN, "list": [rpc.UNKNOWN], "vpcId": pulumi.output.UNKNOWN,
                "keepers": {"rotation": pulumi.output.UNKNOWN}},
}


@pytest.mark.parametrize("state", STATES.values(), ids=STATES.keys())
def test_outputs_are_sent_back_as_the_sdks_serializer_sends_them(state: dict) -> None:
    assert engine._serialize(state) == _sync_await(rpc.serialize_properties(state, {}))


@pytest.mark.parametrize("state", [{"ref": object()}, {"deep": [{"ref": object()}]}, {"keys": {1: "a"}}],
                         ids=["object", "nested", "non-string key"])
def test_an_output_that_is_not_data_is_refused_by_its_path(state: dict) -> None:
    path = {"ref": "ref", "deep": r"deep\[0\]\.ref", "keys": "keys"}[next(iter(state))]
    with pytest.raises(TypeError, match=f"cannot send .* back as an output \\({path}\\)"):
        engine._serialize(state)
