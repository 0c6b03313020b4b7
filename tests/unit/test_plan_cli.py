"""`wattprint plan` and `wattprint plan verify` from the command line: clear errors before any
work, and the verification printing its hit rate."""

from __future__ import annotations

import re

from orchestration.cli import main


def test_plan_without_a_warehouse_says_what_to_run(tmp_path, capsys):
    assert main(["--home", str(tmp_path), "plan"]) == 2
    err = capsys.readouterr().err
    assert "no warehouse under" in err and "wattprint run" in err and "Traceback" not in err


def test_weights_outside_their_bounds_are_refused(tmp_path, capsys):
    (tmp_path / "warehouse.duckdb").touch()
    assert main(["--home", str(tmp_path), "plan", "--weights", "0.6,0.2,0.2"]) == 2
    assert "alpha=0.6 outside [0.3, 0.5]" in capsys.readouterr().err
    assert main(["--home", str(tmp_path), "plan", "--weights", "a,b"]) == 2
    assert "--weights 'a,b'" in capsys.readouterr().err


def test_verify_prints_the_hit_rate(capsys):
    code = main(["plan", "verify", "--instances", "1", "--pop", "100", "--gens", "50"])
    out = capsys.readouterr().out
    hit = re.search(r"Hit rate: (\d+)/1 = ([\d.]+)%", out)
    assert hit, out
    # instance 0's exact optimum (MILP) is reached: the FV printed for both is the same
    found = re.search(r"exact FV ([\d.]+) .* found ([\d.]+)", out)
    assert found and found.group(1) == found.group(2)
    assert code == 0 and hit.group(1) == "1"
