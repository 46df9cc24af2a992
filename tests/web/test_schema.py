"""schemathesis against the served OpenAPI schema (its CLI, on the live loopback server):
generated requests, valid and invalid, to every operation; no server errors, and every answer has
a documented status code, content type and body schema."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CLI = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or shutil.which("schemathesis")
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


@pytest.mark.skipif(CLI is None, reason="needs schemathesis (the dev extra)")
def test_api_has_no_server_errors_and_keeps_its_schema(server_url, tmp_path):
    done = subprocess.run([CLI, "run", f"{server_url}/openapi.json", "--checks", CHECKS, "--max-examples", "50",
                           "--seed", "1", "--no-color"],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)  # fmt: skip
    summary = done.stdout[-3000:]
    assert done.returncode == 0, summary
    assert "Tested: 4" in done.stdout, summary  # health, models, analyze, annotate
