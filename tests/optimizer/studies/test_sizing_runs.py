"""What ``size`` prints about a design's emissions: the operated year's, beside the LP's."""

from __future__ import annotations

from optimizer.studies.sizing_runs import emission_lines


def test_the_dispatch_check_figure_is_the_one_quoted_and_the_gap_explained():
    # the hamlet's case: 1.2 t in the representative-day LP, 4.69 t in the checked year
    (line,) = emission_lines(1200.0, 4690.0, representative_days=8)
    assert line.startswith("  emissions 4.69 tCO2e/year (dispatch check; sizing LP 1.20 tCO2e")
    assert "representative days close each store on itself" in line


def test_close_figures_need_no_explanation_and_no_check_says_so():
    (line,) = emission_lines(1000.0, 1010.0, representative_days=8)
    assert "differ" not in line
    (line,) = emission_lines(1000.0, None, representative_days=None)
    assert "sizing LP" in line and "run a dispatch check" in line
