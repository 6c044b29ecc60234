"""`make verify` against moto: the dev stack deployed healthy, then each kind of drift, then bad input."""

from __future__ import annotations

import copy
import dataclasses
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from operations import outputs, verify
from operations.drift import CACHE, EKS, GLOBAL_CLUSTERS, KAFKA, SHARD_MAP, Finding
from operations.drift import verify as check_all
from operations.live_state import LiveState
from operations.stack import OperatorError, Target, load_target
from regions import loader, published_map
from regions.schema import Manifest
from tests.moto_deploy import ACCOUNT, deploy, shard_map_json

Row = tuple[str, str, str, str, str, str]
DEV = loader.load(loader.manifest_path("dev"), "dev")
PARAMETER = published_map.parameter_name("dev")


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Fake credentials only, and no config or credentials file of the machine: nothing can reach AWS."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield


# One session for the check-function tests: each new one loads every service model again (a second a test).
SESSION = boto3.Session()


def state() -> LiveState:
    return LiveState(SESSION)


def drifts(results: dict[str, list[Finding]]) -> list[Row]:
    return [(category, f.region, f.resource, f.check, f.expected, f.found)
            for category, findings in results.items() for f in findings if not f.ok]


def run(stack_outputs: dict[str, Any], manifest: Manifest = DEV, live: LiveState | None = None) -> list[Row]:
    deployed = outputs.read(stack_outputs, "outputs.json", manifest)
    return drifts(check_all(live or state(), manifest, deployed))


@pytest.fixture
def dev_target(monkeypatch: pytest.MonkeyPatch) -> Target:
    """The dev stack as if Pulumi.dev.yaml named moto's account."""
    target = dataclasses.replace(load_target("dev"), account_id=ACCOUNT)
    monkeypatch.setattr(verify, "load_target", lambda stack, manifest=None: target)
    return target


@pytest.fixture(scope="module")
def healthy_outputs() -> dict[str, Any]:
    """Outputs of a healthy deploy, for the tests that stop at bad input before any AWS read."""
    with mock_aws():
        return deploy(DEV)


@pytest.fixture
def outputs_file(tmp_path: Path) -> Callable[[Any], Path]:
    def write(data: Any) -> Path:
        path = tmp_path / "outputs.json"
        path.write_text(data if isinstance(data, str) else json.dumps(data))
        return path
    return write


# The healthy deploy and each drift, on the check functions.

def test_a_healthy_deploy_matches_the_plan() -> None:
    stack_outputs = deploy(DEV)
    results = check_all(state(), DEV, outputs.read(stack_outputs, "outputs.json", DEV))
    assert drifts(results) == []
    assert [(f.region, f.resource, f.check, f.expected, f.found) for f in results[GLOBAL_CLUSTERS][:4]] == [
        ("us-east-1", "dev-use1-sg01", "status", "available", "available"),
        ("us-east-1", "dev-use1-sg01", "members", "us-east-1, eu-west-1", "us-east-1, eu-west-1"),
        ("us-east-1", "dev-use1-sg01", "writer region", "us-east-1", "us-east-1"),
        ("us-east-1", "dev-use1-sg01-use1", "cluster status", "available", "available"),
    ]
    assert len(results[GLOBAL_CLUSTERS]) == 2 * (3 + 2)  # two groups: status, members, writer, two clusters
    assert [(f.region, f.resource, f.found) for f in results[CACHE]] == [
        ("us-east-1", "dev-use1-cache", "available"), ("eu-west-1", "dev-euw1-cache", "available")]
    assert [(f.resource, f.found) for f in results[EKS]] == [("dev-use1", "ACTIVE"), ("dev-euw1", "ACTIVE")]
    assert [f.found for f in results[KAFKA]] == ["ACTIVE", "ACTIVE"]
    assert [(f.region, f.resource, f.expected, f.found) for f in results[SHARD_MAP]] == [
        (region, PARAMETER, "the plan's document (2 groups)", "as planned") for region in ("us-east-1", "eu-west-1")]


def test_a_global_cluster_missing_a_member_region() -> None:
    assert run(deploy(DEV, skip={("member", "use1-sg01", "eu-west-1")})) == [
        (GLOBAL_CLUSTERS, "us-east-1", "dev-use1-sg01", "members", "us-east-1, eu-west-1", "us-east-1")]


def test_a_missing_global_cluster_is_one_finding() -> None:
    assert run(deploy(DEV, skip={("global", "euw1-sg01")})) == [
        (GLOBAL_CLUSTERS, "eu-west-1", "dev-euw1-sg01", "status", "available", "missing")]


def test_a_writer_outside_its_home_region() -> None:
    assert run(deploy(DEV, writers={"use1-sg01": "eu-west-1"})) == [
        (GLOBAL_CLUSTERS, "us-east-1", "dev-use1-sg01", "writer region", "us-east-1", "eu-west-1")]


@pytest.fixture
def switched(raw_manifest: Callable[[str], dict[str, Any]],
             write_manifest: Callable[[dict[str, Any]], Path]) -> Manifest:
    """dev with a switchover of use1-sg01 to eu-west-1 recorded (docs/runbooks/aurora-switchover.md)."""
    data = raw_manifest("dev")
    data["writer_regions"] = {"use1-sg01": "eu-west-1"}
    return loader.load(write_manifest(data), "dev")


def test_a_recorded_switchover_moves_the_expected_writer(switched: Manifest) -> None:
    assert run(deploy(switched), switched) == []


def test_a_writer_back_home_while_the_manifest_records_a_switchover(switched: Manifest) -> None:
    # Both the writer and the published maps (the writer region, and which region's copy is the local writer)
    # disagree with the plan until the manifest entry goes and `pulumi up` republishes the maps.
    assert run(deploy(DEV), switched) == [
        (GLOBAL_CLUSTERS, "us-east-1", "dev-use1-sg01", "writer region (switchover recorded)", "eu-west-1",
         "us-east-1"),
        (SHARD_MAP, "us-east-1", PARAMETER, "value", "the plan's document (2 groups)",
         'groups[use1-sg01].writerRegion: "us-east-1", plan "eu-west-1"; '
         'groups[use1-sg01].local: "writer", plan "secondary"'),
        (SHARD_MAP, "eu-west-1", PARAMETER, "value", "the plan's document (2 groups)",
         'groups[use1-sg01].writerRegion: "us-east-1", plan "eu-west-1"; '
         'groups[use1-sg01].local: "secondary", plan "writer"'),
    ]


def test_a_member_cluster_not_available() -> None:
    stack_outputs = deploy(DEV)
    boto3.client("rds", region_name="eu-west-1").stop_db_cluster(DBClusterIdentifier="dev-use1-sg01-euw1")
    assert run(stack_outputs) == [
        (GLOBAL_CLUSTERS, "eu-west-1", "dev-use1-sg01-euw1", "cluster status", "available", "stopped")]


def test_an_msk_cluster_not_active() -> None:
    stack_outputs = deploy(DEV)
    arn = stack_outputs["kafka"]["eu-west-1"]["arn"]
    from moto.kafka.models import kafka_backends
    kafka_backends[ACCOUNT]["eu-west-1"].clusters[arn].state = "HEALING"  # moto has no call that gets here
    assert run(stack_outputs) == [(KAFKA, "eu-west-1", arn, "state", "ACTIVE", "HEALING")]


def test_a_missing_msk_cluster() -> None:
    stack_outputs = deploy(DEV, skip={("kafka", "eu-west-1")})
    arn = stack_outputs["kafka"]["eu-west-1"]["arn"]
    live = state()
    # moto answers an unknown ARN with an internal KeyError; AWS answers NotFoundException: stub that one call.
    with Stubber(live.client("kafka", "eu-west-1")) as stub:
        stub.add_client_error("describe_cluster_v2", "NotFoundException", http_status_code=404,
                              expected_params={"ClusterArn": arn})
        assert run(stack_outputs, live=live) == [(KAFKA, "eu-west-1", "dev-euw1-kafka", "state", "ACTIVE", "missing")]
        stub.assert_no_pending_responses()


def test_a_missing_replication_group() -> None:
    assert run(deploy(DEV, skip={("cache", "us-east-1")})) == [
        (CACHE, "us-east-1", "dev-use1-cache", "status", "available", "missing")]


def test_a_replication_group_not_available() -> None:
    stack_outputs = deploy(DEV)
    boto3.client("elasticache", region_name="us-east-1").delete_replication_group(ReplicationGroupId="dev-use1-cache")
    assert run(stack_outputs) == [(CACHE, "us-east-1", "dev-use1-cache", "status", "available", "deleting")]


def test_a_missing_eks_cluster() -> None:
    assert run(deploy(DEV, skip={("eks", "eu-west-1")})) == [
        (EKS, "eu-west-1", "dev-euw1", "status", "ACTIVE", "missing")]


def test_an_eks_cluster_not_active() -> None:
    stack_outputs = deploy(DEV)
    live = state()
    # moto's clusters are ACTIVE from creation and stay so: stub the one describe with an update in progress.
    with Stubber(live.client("eks", "us-east-1")) as stub:
        stub.add_response("describe_cluster", {"cluster": {"name": "dev-use1", "status": "UPDATING"}},
                          {"name": "dev-use1"})
        assert run(stack_outputs, live=live) == [(EKS, "us-east-1", "dev-use1", "status", "ACTIVE", "UPDATING")]


def test_a_missing_shard_map_parameter() -> None:
    assert run(deploy(DEV, skip={("shard-map", "eu-west-1")})) == [
        (SHARD_MAP, "eu-west-1", PARAMETER, "value", "the plan's document (2 groups)", "missing")]


def test_a_shard_map_parameter_that_differs() -> None:
    stack_outputs = deploy(DEV)
    document = json.loads(stack_outputs["shardMaps"]["us-east-1"])
    document["groups"][1]["end"] = 80000
    document["groups"][0]["writerEndpoint"] = "elsewhere.example"
    del document["pgbouncer"]
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name=PARAMETER, Value=shard_map_json(document), Type="String", Overwrite=True)
    writer = json.loads(stack_outputs["shardMaps"]["us-east-1"])["groups"][0]["writerEndpoint"]
    assert run(stack_outputs) == [(
        SHARD_MAP, "us-east-1", PARAMETER, "value", "the plan's document (2 groups)",
        'pgbouncer: missing, plan {"host": "pgbouncer.data.svc.cluster.local", "port": 6432}; '
        f'groups[use1-sg01].writerEndpoint: "elsewhere.example", plan "{writer[:56]}...; '
        'groups[euw1-sg01].end: 80000, plan 90000')]


def test_a_shard_map_parameter_that_is_not_json() -> None:
    stack_outputs = deploy(DEV)
    boto3.client("ssm", region_name="eu-west-1").put_parameter(Name=PARAMETER, Value="{", Type="String",
                                                               Overwrite=True)
    assert run(stack_outputs) == [
        (SHARD_MAP, "eu-west-1", PARAMETER, "value", "the plan's document (2 groups)", "not JSON")]


# The command: exit codes, tables, and one message for bad input.

def test_main_exits_0_on_a_healthy_deploy(dev_target: Target, outputs_file: Callable[[Any], Path],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert verify.main(["--stack", "dev", "--outputs", str(outputs_file(deploy(DEV)))]) == 0
    printed = capsys.readouterr().out
    for title in (GLOBAL_CLUSTERS, KAFKA, CACHE, EKS, SHARD_MAP):
        assert title in printed
    assert "DRIFT" not in printed and "everything matches the plan" in printed


def test_a_regional_stack_checks_only_its_region(dev_target: Target, monkeypatch: pytest.MonkeyPatch,
                                                 outputs_file: Callable[[Any], Path],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A deploy wave's check: eu-west-1's drift is not us-east-1's stack's, and the other way round."""
    path = outputs_file(deploy(DEV, skip={("eks", "eu-west-1")}))
    for stack, region, code in (("dev-us-east-1", "us-east-1", 0), ("dev-eu-west-1", "eu-west-1", 1)):
        target = dataclasses.replace(dev_target, stack=stack, region=region)
        monkeypatch.setattr(verify, "load_target", lambda stack, manifest=None, target=target: target)
        assert verify.main(["--stack", stack, "--outputs", str(path)]) == code
        rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("│")]
        assert rows and all(region in row for row in rows)


def test_load_target_reads_the_region_of_a_regional_stack() -> None:
    target = load_target("dev-eu-west-1")
    assert (target.region, target.account_id, target.stacks[0]) == ("eu-west-1", "222222222222", "dev-us-east-1")
    assert load_target("dev").region is None
    with pytest.raises(OperatorError, match="no stack dev-ap-south-1; the stacks of dev are dev-us-east-1, "):
        load_target("dev-ap-south-1")


def test_main_exits_1_and_prints_the_drift(dev_target: Target, outputs_file: Callable[[Any], Path],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = outputs_file(deploy(DEV, skip={("eks", "eu-west-1"), ("shard-map", "us-east-1")}))
    assert verify.main(["--stack", "dev", "--outputs", str(path)]) == 1
    printed = capsys.readouterr().out
    assert printed.count("DRIFT") == 2 and "2 drift(s) from the plan" in printed


def test_credentials_of_another_account_are_refused(outputs_file: Callable[[Any], Path],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    # The real dev stack files deploy to 222222222222; moto's credentials are 123456789012's.
    assert verify.main(["--stack", "dev", "--outputs", str(outputs_file(deploy(DEV)))]) == 2
    assert capsys.readouterr().err == (
        "error: the AWS credentials are for account 123456789012, but the stacks of dev deploy to account "
        "222222222222; use credentials for that account\n")


def _bad_input(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert verify.main(["--stack", "dev", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err.removeprefix("error: ").rstrip("\n")


def test_an_outputs_file_that_does_not_exist(dev_target: Target, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "nowhere.json"
    assert _bad_input(["--outputs", str(path)], capsys) == \
        f"{path}: cannot read the stack outputs (No such file or directory)"


def test_an_outputs_file_that_is_not_json(dev_target: Target, outputs_file: Callable[[Any], Path],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = outputs_file("Current stack outputs (2):")
    assert _bad_input(["--outputs", str(path)], capsys).startswith(
        f"{path}: not JSON (Expecting value: line 1 column 1 (char 0)); expected the output of `pulumi stack output")


SUFFIX = ("; the outputs must be this stack's, from a deploy of the current program and manifest (`pulumi up` "
          "first)")


@pytest.mark.parametrize(("edit", "key", "problem"), [
    (lambda o: o["kafka"].pop("eu-west-1"), "kafka.eu-west-1", "missing"),
    (lambda o: o.pop("globalClusters"), "globalClusters", "missing"),
    (lambda o: o["globalClusters"]["use1-sg01"]["clusters"].pop("eu-west-1"),
     "globalClusters.use1-sg01.clusters.eu-west-1", "missing"),
    (lambda o: o["cache"]["us-east-1"].update(replicationGroupId=None), "cache.us-east-1.replicationGroupId",
     "expected a non-empty string, found null"),
    (lambda o: o.update(environment="prod"), "environment", "prod, but the manifest is dev's"),
    (lambda o: o["shardMaps"].update({"eu-west-1": json.dumps({"groups": []})}),
     "shardMaps.eu-west-1.groups[use1-sg01].writerEndpoint", "missing"),
])
def test_outputs_missing_what_verify_reads(dev_target: Target, healthy_outputs: dict[str, Any],
                                           outputs_file: Callable[[Any], Path], capsys: pytest.CaptureFixture[str],
                                           edit: Callable[[dict[str, Any]], Any], key: str, problem: str) -> None:
    stack_outputs = copy.deepcopy(healthy_outputs)
    edit(stack_outputs)
    path = outputs_file(stack_outputs)
    assert _bad_input(["--outputs", str(path)], capsys) == f"{path}: {key}: {problem}{SUFFIX}"


def test_without_a_file_and_without_the_pulumi_cli(dev_target: Target, monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert _bad_input([], capsys) == (
        "the pulumi CLI is not on PATH, so `pulumi stack output --json --stack dev-us-east-1` cannot run; install it "
        "and log "
        "in to the stack's backend, or pass the outputs of that command as a file (OUTPUTS=path)")


def _fake_pulumi(directory: Path, body: str) -> Path:
    """A `pulumi` on PATH that records its arguments and working directory, then runs ``body`` (Python)."""
    script = directory / "pulumi"
    script.write_text(f"#!{sys.executable}\nimport json, os, sys\n"
                      f"open({str(directory / 'argv.json')!r}, 'a')"
                      ".write(json.dumps([os.getcwd(), *sys.argv[1:]]) + '\\n')\n"
                      f"{body}\n")
    script.chmod(0o755)
    return directory / "argv.json"


def test_without_a_file_it_runs_pulumi_stack_output(dev_target: Target, monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "outputs.json").write_text(json.dumps(deploy(DEV)))
    argv = _fake_pulumi(tmp_path, f"print(open({str(tmp_path / 'outputs.json')!r}).read())")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert verify.main(["--stack", "dev"]) == 0
    stacks = [json.loads(line) for line in argv.read_text().splitlines()]
    # Every stack of the environment is read, in deploy order, from the project directory.
    assert stacks == [[str(outputs.PROJECT_DIR), "stack", "output", "--json", "--stack", name]
                      for name in dev_target.stacks]
    assert "the outputs of `pulumi stack output --json` of dev-us-east-1, dev-eu-west-1," in capsys.readouterr().out


def test_a_failing_pulumi_stack_output(dev_target: Target, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    _fake_pulumi(tmp_path, "sys.stderr.write(\"error: no stack named 'dev' found\\n\"); sys.exit(255)")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert _bad_input([], capsys) == \
        "`pulumi stack output --json --stack dev-us-east-1` failed: error: no stack named 'dev' found"


def test_a_refused_read_names_its_region() -> None:
    live = state()
    with Stubber(live.client("ssm", "us-east-1")) as stub:
        stub.add_client_error("get_parameter", "AccessDeniedException", "not authorized to perform ssm:GetParameter")
        with pytest.raises(OperatorError, match=r"^AWS refused a read in us-east-1 \(.*AccessDenied"):
            live.parameter(PARAMETER, "us-east-1")
