"""docs/operations.md's walkthrough, followed as an admin would: `commitments sandbox serve`, its printed
settings pasted into the connections file, doctor, setup, doctor again, then `commitments worker` as a real
process syncing the served CRM until SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.worker.test_sandbox_cmd import _environment, _settings_document, serving
from tests.worker.test_worker_sigterm import _wait_for
from worker.cli.sandbox_cmd import Crm, ServeOptions

CLI = [sys.executable, "-c", "from worker.cli import main; main()"]


@pytest.mark.slow
def test_given_the_served_sandbox_when_the_operations_walkthrough_is_followed_then_the_worker_syncs_it(
    tmp_path: Path,
) -> None:
    with serving(ServeOptions(crm=Crm.BOTH, port=0, deals=20)) as served:  # as the doc serves them
        # the printed YAML block pasted into config/connections.yaml, and the export lines run
        (tmp_path / "config").mkdir()
        document = _settings_document(served.output)
        (tmp_path / "config" / "connections.yaml").write_text(yaml.safe_dump(document))
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMMITMENTS_")}
        env |= _environment(served.output) | {"COLUMNS": "200"}

        def commitments(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([*CLI, *args], cwd=tmp_path, env=env, capture_output=True, text=True)

        before_setup = commitments("doctor", "--connection", "local-salesforce")
        setup = commitments("setup", "--connection", "local-salesforce", "--assign-owners")
        setup_hubspot = commitments("setup", "--connection", "local-hubspot")
        after_setup = commitments("doctor", "--connection", "local-salesforce")
        log_file = tmp_path / "worker.log"
        with log_file.open("w") as log:
            worker = subprocess.Popen(
                [*CLI, "worker", "--metrics-port", "0"], cwd=tmp_path, env=env, stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_for(log_file, "sync finished", worker, timeout=120)
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=60) == 0, log_file.read_text()
        finally:
            if worker.poll() is None:
                worker.kill()
        runs = commitments("runs", "--connection", "local-salesforce")

    doctor_output = before_setup.stdout + after_setup.stdout
    assert (before_setup.returncode, after_setup.returncode) == (1, 0), doctor_output
    assert "commitments setup --connection local-salesforce" in before_setup.stdout  # the fix it names
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert "Commitments_User -> " in setup.stdout  # the deal owners got the sales users' permission set
    assert re.search(r"field access\s+│\s+ok", after_setup.stdout), after_setup.stdout
    assert runs.returncode == 0, runs.stderr
    assert "local-salesforce" in runs.stdout
    assert "success" in runs.stdout, log_file.read_text()
    assert setup_hubspot.returncode == 0, setup_hubspot.stdout + setup_hubspot.stderr
    assert "failed" not in runs.stdout, runs.stdout  # both connections provisioned: no run fails at its write
