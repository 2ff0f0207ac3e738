"""Issue 17: the long commands show a progress bar with the rate (click's bar, written to
stderr; the runner's output holds both streams)."""

from crm.cli import progress


def test_progress_bar_shows_the_count_and_rate(app, capsys):
    with progress("work", 4, unit="rows") as bar:
        bar.advance(2)
        bar.to(4)
        assert bar.done == 4
    err = capsys.readouterr().err
    assert "work" in err


def test_progress_total_may_come_late(app):
    with progress("late", unit="ids") as bar:
        bar.to(50, 200)
        assert bar.bar.length == 200 and bar.done == 50
        assert "50 ids" in bar.rate()


def test_credit_check_and_card_sweep_commands_show_progress(app, ctx):
    runner = app.test_cli_runner()
    check = runner.invoke(args=["crm", "credit-check"])
    assert check.exit_code == 0, check.output
    assert "credit check" in check.output and "notified" in check.output
    sweep = runner.invoke(args=["crm", "card-sweep", "--today", "2026-11-30"])
    assert sweep.exit_code == 0, sweep.output
    assert "card sweep" in sweep.output and "'reminded': 0" in sweep.output
