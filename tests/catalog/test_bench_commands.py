"""``ebrcs bench``: the benchmarks are modules of the package, run from any directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ebrcs.cli import app


def test_bench_search_runs_outside_a_source_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    command = ["bench", "search", "--sizes", "2000", "--dim", "16", "--json"]
    result = CliRunner().invoke(app, command)

    assert result.exit_code == 0, result.output
    served = json.loads(result.stdout.strip().splitlines()[-1])["2000"]
    assert served["kind"] == "flat"
    assert served["recall_at_1"] == 1.0
    assert (tmp_path / "bench" / "out" / "search_bench.json").is_file()
