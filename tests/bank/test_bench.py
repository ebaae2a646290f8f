"""The import benchmark runs end to end on a small bank (no timing is asserted)."""

from __future__ import annotations

import pytest

from server.bank.bench import main, percentile


def test_bench_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--items", "30", "--runs", "2"]) == 0
    assert "imported 30 items" in capsys.readouterr().out


@pytest.mark.parametrize(("share", "expected"), [(0.5, 3.0), (0.99, 5.0), (0.01, 1.0)])
def test_percentile_is_nearest_rank(share: float, expected: float) -> None:
    assert percentile([5.0, 1.0, 4.0, 2.0, 3.0], share) == expected
