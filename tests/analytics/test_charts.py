from __future__ import annotations

from analytics.charts import bar_list, line_chart, stacked_columns


def test_a_line_chart_is_an_accessible_svg_with_a_gap_for_missing_hours() -> None:
    svg = str(line_chart("Latency", ["00", "01", "02"], {"p50": [10, None, 30]}, unit=" ms"))
    assert 'role="img"' in svg
    assert "<title>Latency</title>" in svg
    assert svg.count("M") >= 2  # the line restarts after the gap
    assert "peak 30 ms" in svg


def test_stacked_columns_draw_one_bar_per_kind_and_period() -> None:
    svg = str(stacked_columns("Updates", ["00", "01"], {"message": [3, 1], "callback_query": [2, 0]}))
    assert svg.count("<rect") == 3
    assert "00 message: 3" in svg


def test_labels_are_escaped() -> None:
    html = str(bar_list("Commands", [("<script>", 3)]))
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_an_empty_list_says_so() -> None:
    assert "No data yet" in str(bar_list("Languages", []))
