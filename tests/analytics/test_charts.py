from __future__ import annotations

import re

from analytics.charts import bar_list, line_chart, stacked_columns


def test_it_a_line_chart_is_an_accessible_svg_with_a_gap_for_missing_hours() -> None:
    svg = str(line_chart("Latency", ["00", "01", "02"], {"p50": [10, None, 30]}, unit=" ms"))
    assert 'role="img"' in svg
    assert "<title>Latency</title>" in svg
    assert svg.count("M") >= 2  # the line restarts after the gap
    assert "peak 30 ms" in svg


def test_it_stacked_columns_draw_one_bar_per_kind_and_period() -> None:
    svg = str(stacked_columns("Updates", ["00", "01"], {"message": [3, 1], "callback_query": [2, 0]}))
    assert svg.count("<rect") == 3
    assert "00 message: 3" in svg


def test_it_labels_are_escaped() -> None:
    html = str(bar_list("Commands", [("<script>", 3)]))
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_it_an_empty_list_says_so() -> None:
    assert "No data yet" in str(bar_list("Languages", []))


def ticks(svg: str) -> list[str]:
    return re.findall(r'<text class="y"[^>]*>([^<]*)</text>', svg)


def test_it_ticks_a_count_axis_in_whole_numbers() -> None:
    assert ticks(str(line_chart("Users", ["00", "01"], {"users": [1, 0]}))) == ["0", "1"]
    assert ticks(str(stacked_columns("Updates", ["00", "01"], {"message": [5, 2]}))) == ["0", "2", "4", "6"]
    assert ticks(str(stacked_columns("Updates", ["00"], {"message": [37]}))) == ["0", "10", "20", "30", "40"]
    assert ticks(str(line_chart("Users", ["00"], {"users": [0]}))) == ["0", "1"]


def test_it_keeps_fractions_for_rates_and_rounds_them_right() -> None:
    labels = ticks(str(line_chart("Failures", ["00", "01"], {"failed": [0.4, 1.0]}, unit="%")))
    assert labels == ["0%", "0.25%", "0.5%", "0.75%", "1%"]


def test_it_leaves_room_for_long_value_labels() -> None:
    svg = str(line_chart("Latency", ["00"], {"p95": [12000.0]}, unit=" ms"))
    assert '<text class="y" x="' in svg
    assert 'x="-' not in svg
