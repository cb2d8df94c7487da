"""The README's Ray cluster commands, as written, on two Ray nodes of this machine.

A head (``ray get-auth-token --generate``, then ``RAY_AUTH_MODE=token ray start --head``) and
one joining node (``RAY_AUTH_MODE=token RAY_AUTH_TOKEN=<the head's token> ray start
--address HEAD:PORT``, with a home directory of its own, so the token reaches it only through
the environment), one CPU each and a small object store, in temporary directories; then a run
with ``run.ray_address`` gives the scores of the local executor. Each ``ray start`` runs in its
own session, and teardown ends those process groups only (never ``ray stop``, which would end
every Ray on the machine). About a minute; every step is bounded by a timeout.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import SCRIPT, mmrefine

pytest.importorskip("ray")
pytestmark = pytest.mark.ray_cluster

RAY = shutil.which("ray", path=str(Path(sys.executable).parent)) or "ray"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Node:
    """One ``ray start`` in its own session (its daemons share the process group)."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("w") as sink:
            started = subprocess.Popen(
                [RAY, "start", *args], env=env, stdout=sink, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            self.group = started.pid
            code = started.wait(timeout=90)
        if code != 0:
            self.stop()
            raise AssertionError(f"ray start {' '.join(args)}: exit {code}\n{log.read_text()}")

    def alive(self) -> bool:
        try:
            os.killpg(self.group, 0)
        except ProcessLookupError:
            return False
        return True

    def stop(self) -> None:
        for sig, wait_s in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            if not self.alive():
                return
            os.killpg(self.group, sig)
            deadline = time.monotonic() + wait_s
            while self.alive() and time.monotonic() < deadline:
                time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[str, dict[str, str]]]:
    """A head and one joining node; yields the head's address and the driver's environment."""
    root = Path(tempfile.mkdtemp(prefix="mrray", dir="/tmp"))  # short: Ray's socket paths
    head_home, node_home = root / "head", root / "node"
    head_home.mkdir()
    node_home.mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    head_env = {**base, "HOME": str(head_home)}
    port = free_port()
    common = ["--num-cpus=1", "--object-store-memory=100000000", "--disable-usage-stats",
              f"--temp-dir={root / 'ray'}"]  # fmt: skip
    nodes: list[Node] = []
    try:
        subprocess.run([RAY, "get-auth-token", "--generate"], env=head_env, check=True,
                       capture_output=True, timeout=60)  # fmt: skip
        printed = subprocess.run([RAY, "get-auth-token"], env=head_env, check=True,
                                 capture_output=True, text=True, timeout=60)  # fmt: skip
        token = printed.stdout.strip()
        assert token and (head_home / ".ray" / "auth_token").is_file()
        nodes.append(
            Node(
                ["--head", f"--port={port}", "--include-dashboard=false",
                 *common],
                {**head_env, "RAY_AUTH_MODE": "token"}, root / "head.log",
            )
        )  # fmt: skip
        node_env = {**base, "HOME": str(node_home), "RAY_AUTH_MODE": "token",
                    "RAY_AUTH_TOKEN": token}  # fmt: skip
        nodes.append(Node([f"--address=127.0.0.1:{port}", *common], node_env, root / "node.log"))
        assert not (node_home / ".ray").exists()  # the token reached it by the environment
        yield f"127.0.0.1:{port}", {"HOME": str(head_home), "RAY_AUTH_MODE": "token"}
    finally:
        for node in reversed(nodes):
            node.stop()
        shutil.rmtree(root, ignore_errors=True)


def run_args(out: Path, *extra: str) -> list[str]:
    return [
        "run", "configs/paper_single_pass.yaml", "--limit", "4", "--out", str(out), "--quiet",
        "--set", "model.backend=scripted", "--set", f"model.options.script={SCRIPT}",
        "--set", "judge.name=offline", "--set", "run.cache=false", *extra,
    ]  # fmt: skip


def scenarios(out: Path) -> dict[str, str]:
    lines = (out / "results.jsonl").read_text().splitlines()
    return {r["key"]: (r.get("judgment") or {}).get("scenario") for r in map(json.loads, lines)}


def alive_nodes(address: str, env: dict[str, str]) -> int:
    """The alive nodes ``ray.nodes()`` sees from a driver (waiting a little for a late one)."""
    probe = (
        "import ray, sys, time\n"
        "ray.init(address=sys.argv[1], log_to_driver=False, logging_level='error')\n"
        "for _ in range(60):\n"
        "    alive = sum(1 for n in ray.nodes() if n['Alive'])\n"
        "    if alive >= 2: break\n"
        "    time.sleep(0.5)\n"
        "print(alive)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, address], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **env})  # fmt: skip
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


def test_two_nodes_joined_the_documented_way_score_like_local(
    cluster: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    address, driver_env = cluster
    assert alive_nodes(address, driver_env) == 2  # the head and the joined node

    local, clustered = tmp_path / "local", tmp_path / "cluster"
    done = mmrefine(*run_args(local))
    assert done.returncode == 0, done.stdout + done.stderr
    done = mmrefine(
        *run_args(clustered, "--set", "run.executor=ray", "--set", f"run.ray_address={address}"),
        env=driver_env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert scenarios(clustered) == scenarios(local)
    rates = [json.loads((d / "scores.json").read_text())["overall"]["rates"]
             for d in (local, clustered)]  # fmt: skip
    assert rates[0] == rates[1]
