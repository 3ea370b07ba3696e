"""The README is part of the product: its commands exist and it documents every rule."""

from __future__ import annotations

import re
from pathlib import Path

from runbook.validator import RULES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_validator_rule_is_in_the_readme() -> None:
    documented = set(re.findall(r"^\| `(RB\d{3})` \|", README, re.M))
    assert documented == set(RULES)


def test_the_two_setup_commands_exist_and_are_the_only_ones() -> None:
    block = README.split("## Two commands", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["bash scripts/rehearse.sh", "bash scripts/test.sh"]
    for command in commands:
        assert (ROOT / command.split()[1]).is_file()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash scripts/test.sh" in ci


def test_the_commands_table_matches_the_cli() -> None:
    from runbook.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    in_readme = set(re.findall(r"^\| `runbook (?:/ `runbook )?([a-z-]+)", README, re.M))
    assert in_readme <= set(sub.choices), in_readme - set(sub.choices)
