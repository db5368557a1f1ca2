"""``kb reliability``: every command meets broken input, and what it prints is what a run did."""

from __future__ import annotations

from click.testing import CliRunner

from kb.reliability.catalogue import cases, run_case
from kb.reliability.resources import measure
from kb.surfaces.cli import cli


def test_every_command_meets_broken_input(tmp_path):
    tried = cases(tmp_path)
    assert {case.command for case in tried} == set(cli.commands)
    outcomes = [run_case(cli, case, tmp_path / "databases") for case in tried]
    unclear = [(o.case.command, o.case.broken, o.exit_code, o.output[-300:]) for o in outcomes if not o.clear]
    assert unclear == []
    assert [o.case.broken for o in outcomes if o.stored_wrongly or o.traceback] == []
    assert len(outcomes) >= 80


def test_the_command_prints_its_figures(tmp_path):
    result = CliRunner().invoke(
        cli,
        ["reliability", "--kills", "2", "--documents", "4", "--requests", "4", "--big-file-mb", "0"]
        + ["--fhir", "10", "--long-line", "2000"],
    )
    assert result.exit_code == 0, result.output
    assert (
        "| mutated policy documents | 4 |" in result.output and "| mutated requests and batches | 4 |" in result.output
    )
    assert "live markup from document text: 0" in result.output
    assert "loads killed (SIGKILL) at random moments: 2; survived (both readers saw a whole, committed state): 2" in (
        result.output
    )
    assert "| mutated FHIR payloads and CDS hook requests | 10 |" in result.output
    assert "a body over 512,000 bytes answered 413, a text/plain body 415" in result.output
    assert "V2025-12 / V2025-12 after; replaced files held open: 0" in result.output
    assert "xlsx cells stored as formulas 0, CSV cells beginning as a formula 0" in result.output
    assert "a criterion of 2,000 characters on one line, 9 kinds" in result.output


def test_a_large_one_line_file_is_refused_by_the_size_limit(tmp_path):
    default, lifted = measure(tmp_path, 2.1)
    assert default.outcome.startswith("refused: expected a policy text of at most 2,000,000 bytes")
    assert default.seconds < lifted.seconds  # refused before it is read
    assert lifted.outcome == "loaded" or lifted.outcome.startswith("refused: expected")
