"""The kb command: documented, thin, and honest about errors."""

from __future__ import annotations

import json

from click.testing import CliRunner

from kb.surfaces.cli import cli


def test_every_command_is_documented():
    for name, command in cli.commands.items():
        assert command.help and len(command.help) > 20, name
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output


def test_load_asof_show_versions(tmp_path):
    db = str(tmp_path / "kb.sqlite")
    runner = CliRunner()
    loaded = runner.invoke(cli, ["load", "--db", db])
    assert loaded.exit_code == 0 and "0 unparsed" in loaded.output
    again = runner.invoke(cli, ["load", "--db", db])
    assert "unchanged" in again.output
    asof = runner.invoke(cli, ["asof", "CP.PHAR.359", "2024-08-01", "--db", db])
    assert "V2024-05" in asof.output and "RULE-DEPENDENT" in asof.output and "Age ≥ 15 years" in asof.output
    as_json = json.loads(runner.invoke(cli, ["asof", "CP.PHAR.359", "2019-06-01", "--db", db, "--json"]).output)
    assert as_json["status"] == "not covered"
    show = runner.invoke(cli, ["show", "CP.PHAR.359", "--db", db])
    assert "If prescribed as frontline therapy, age ≥ 18 years;" in show.output and "J9229" in show.output
    versions = runner.invoke(cli, ["versions", "CP.PHAR.359", "--db", db])
    assert versions.output.count("\n") == 6


def test_errors_exit_non_zero(tmp_path):
    db = str(tmp_path / "kb.sqlite")
    runner = CliRunner()
    missing = runner.invoke(cli, ["load", str(tmp_path / "nope.txt"), "--db", db])
    assert missing.exit_code == 1 and "expected an existing policy text file" in missing.output
    runner.invoke(cli, ["load", "--db", db])
    bad_date = runner.invoke(cli, ["asof", "CP.PHAR.359", "2024-13-01", "--db", db])
    assert bad_date.exit_code == 1 and "YYYY-MM-DD" in bad_date.output
    unknown = runner.invoke(cli, ["asof", "CP.NOPE.1", "2024-01-01", "--db", db])
    assert unknown.exit_code == 1 and "no policy" in unknown.output


def test_read_commands_and_serve_never_create_a_knowledge_base(tmp_path):
    """A mistyped --db or the wrong folder is an error naming the path and the command that builds it."""
    runner = CliRunner()
    db = tmp_path / "typo.sqlite"
    for command in (
        ["policies"],
        ["show", "CP.PHAR.359"],
        ["versions", "CP.PHAR.359"],
        ["asof", "CP.PHAR.359", "2024-08-01"],
        ["diff", "CP.PHAR.359", "V2024-05", "V2025-11"],
        ["serve"],
    ):
        result = runner.invoke(cli, [*command, "--db", str(db)])
        assert result.exit_code == 1, command
        assert f"no knowledge base at {db} (nothing was created): build it with `kb load --db {db}`" in result.output
        assert "Traceback" not in result.output and not db.exists(), command
