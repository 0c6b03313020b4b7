"""The command line: a newcomer's help, and bad input answered with a sentence, not a traceback."""

import pytest

from orchestration.cli import main


def test_help_names_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for command in ("demo", "simulate", "import", "run", "validate"):
        assert command in text


def test_bad_import_file_is_a_clear_error_and_lands_nothing(tmp_path, capsys):
    bad = tmp_path / "bills.csv"
    bad.write_text("bill_id,site_id,period_start,period_end,kwh\nB1,S1,2026-01-01,2026-01-31,lots\n")
    code = main(["--home", str(tmp_path / "home"), "import", "bills", str(bad)])
    err = capsys.readouterr().err
    assert code == 2
    assert "rejected" in err and "row 2" in err and "kwh" in err
    assert "Traceback" not in err
    assert not list((tmp_path / "home" / "landing").rglob("B*.parquet"))


def test_readings_import_without_a_mapping_says_what_is_missing(tmp_path, capsys):
    readings = tmp_path / "r.csv"
    readings.write_text("ts,kwh\n2026-01-01T00:00:00Z,1.0\n")
    code = main(["import", "readings", str(readings), "--home", str(tmp_path / "home")])
    err = capsys.readouterr().err
    assert code == 2
    assert "error:" in err and "Traceback" not in err


def test_validate_before_simulating_says_what_to_run(tmp_path, capsys):
    code = main(["--home", str(tmp_path), "validate"])
    err = capsys.readouterr().err
    assert code == 2
    assert "wattprint simulate" in err


def test_unknown_fault_is_named(tmp_path, capsys):
    code = main(["--home", str(tmp_path), "simulate", "--days", "1", "--faults", "gremlins"])
    err = capsys.readouterr().err
    assert code == 2
    assert "gremlins" in err and "spikes" in err


def test_demo_refuses_a_home_it_did_not_make(tmp_path, capsys):
    (tmp_path / "precious.parquet").write_text("not the demo's")
    code = main(["--home", str(tmp_path), "demo", "--days", "1"])
    assert code == 2
    assert "did not create" in capsys.readouterr().err
    assert (tmp_path / "precious.parquet").exists()


def test_run_on_an_empty_home_says_what_to_do_first(tmp_path, capsys):
    code = main(["--home", str(tmp_path), "run"])
    err = capsys.readouterr().err
    assert code == 2
    assert "import or simulate first" in err and "Traceback" not in err
