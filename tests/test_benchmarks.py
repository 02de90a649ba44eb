"""The benchmark report without wrk: the load test is skipped and the report says how to enable it."""

from __future__ import annotations

from benchmarks.load import WRK_MISSING, wrk_missing
from benchmarks.report import keep_other_sections, load_section

LOAD = {"connections": 64, "seconds": 10, "workers": 2, "paths": ["/"]}


def test_the_load_test_is_skipped_exactly_when_wrk_is_not_on_the_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert wrk_missing() == WRK_MISSING and "apt-get install wrk" in WRK_MISSING

    wrk = tmp_path / "wrk"
    wrk.write_text("#!/bin/sh\n")
    wrk.chmod(0o755)
    assert wrk_missing() is None


def test_a_skipped_load_test_is_reported_with_how_to_enable_it():
    text = "\n".join(load_section({**LOAD, "runs": [], "skipped": WRK_MISSING}))
    assert "## Load test" in text and "Not measured" in text and "apt-get install wrk" in text
    assert "| Run |" not in text


def test_a_measured_load_test_gets_its_table():
    run = {"requests": 10, "requests_per_s": 5.0, "mb_per_s": 1.0, "p50_us": 1000, "p99_us": 2000, "max_us": 3000}
    text = "\n".join(load_section({**LOAD, "runs": [{**run, "errors": 0}], "skipped": None}))
    assert "| Run |" in text and "Not measured" not in text


def test_the_report_keeps_the_sections_other_benchmark_commands_wrote():
    existing = (
        "# Benchmarks\n\nold intro\n\n## Targets\n\nold targets\n\n## Scaling\n\n| a |\n\n## Where it looked\n\nx\n"
    )
    generated = "# Benchmarks\n\nnew intro\n\n## Targets\n\nnew targets\n"
    merged = keep_other_sections(generated, existing)
    assert merged.startswith(generated) and "old" not in merged
    assert merged.index("## Scaling\n\n| a |") < merged.index("## Where it looked\n\nx")
    assert keep_other_sections(generated, "") == generated
