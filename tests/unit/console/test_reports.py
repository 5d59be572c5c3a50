"""The report pages' pure rules: reports and filters by role, bars, the needs board, file names."""

from __future__ import annotations

from datetime import date

from services.console import reports
from services.console.stock import CatalogLabels

LABELS = reports.ReportLabels("en", CatalogLabels("en"))


def test_donors_have_no_lead_times_and_the_scope_fixes_region_or_donor() -> None:
    assert reports.reports_for("donor") == ("unmet-need", "donor-fulfilment", "stock")
    assert reports.reports_for("region_admin") == reports.ALL_REPORTS
    assert "region" not in reports.filters_for("stock", "region_admin")
    assert "donor" not in reports.filters_for("donor-fulfilment", "donor")
    assert "donor" in reports.filters_for("donor-fulfilment", "coordinator")
    assert "priority" not in reports.filters_for("stock", "coordinator")  # the API's 422 otherwise
    assert "programme" not in reports.filters_for("unmet-need", "coordinator")


def test_only_well_formed_filters_the_role_may_choose_reach_the_api() -> None:
    query = {
        "from": "2026-11-01",
        "to": "soon",
        "region": "UA-63",
        "category": "nonsense",
        "priority": "high",
        "front_line": "true",
        "donor": "JICA!",
    }
    assert reports.chosen_filters(query, "unmet-need", "coordinator") == {
        "from": "2026-11-01",
        "region": "UA-63",
        "priority": "high",
        "front_line": "true",
    }
    assert "region" not in reports.chosen_filters(query, "unmet-need", "region_admin")


def test_bars_chart_the_largest_figures_relative_to_the_longest() -> None:
    rows = [
        {"region": "UA-63", "category": "generator", "unmet": 4},
        {"region": "UA-65", "category": "generator", "unmet": 0},
        {"region": "UA-14", "category": "pump", "unmet": 8},
    ]
    bars = reports.chart_bars("unmet-need", rows, LABELS)
    assert [(b.value, b.percent) for b in bars] == [(8.0, 100.0), (4.0, 50.0)]
    assert bars[0].label == "Donetsk Oblast · Pump"
    stages = [
        {"stage": "submit_to_proposal", "p50_hours": 2.5},
        {"stage": "proposal_to_approval", "p50_hours": None},
    ]
    assert [b.label for b in reports.chart_bars("lead-times", stages, LABELS)] == ["submit_to_proposal"]


def test_the_needs_board_lists_what_is_unmet_longest_wait_first_and_offers_the_lot_form() -> None:
    rows = [
        {
            "region": "UA-63",
            "category": "generator",
            "unmet": 2,
            "waitlisted_requests": 1,
            "oldest_wait_days": 3,
        },
        {"region": "UA-14", "category": "pump", "unmet": 1, "waitlisted_requests": 1, "oldest_wait_days": 9},
        {
            "region": "UA-65",
            "category": "pump",
            "unmet": 0,
            "waitlisted_requests": 0,
            "oldest_wait_days": None,
        },
    ]
    board = reports.needs_board(rows)
    assert [(n.region, n.unmet) for n in board] == [("UA-14", 1), ("UA-63", 2)]
    assert board[1].offer_query == "category=generator&region=UA-63"


def test_export_file_names_carry_the_report_the_scope_and_the_day() -> None:
    day = date(2026, 12, 2)
    assert reports.export_file_name("stock", "xlsx", scope=None, today=day) == "vidnova-stock-2026-12-02.xlsx"
    named = reports.export_file_name("unmet-need", "csv", scope="UA-63", today=day)
    assert named == "vidnova-unmet-need-UA-63-2026-12-02.csv"


def test_statement_months_run_back_from_this_month_across_the_new_year() -> None:
    months = reports.statement_months(date(2027, 2, 14), count=4)
    assert months == [date(2027, 2, 1), date(2027, 1, 1), date(2026, 12, 1), date(2026, 11, 1)]
    assert len(reports.statement_months(date(2026, 12, 2))) == reports.STATEMENT_MONTHS
    assert reports.statement_file_name("jica", "2026-11") == "vidnova-statement-jica-2026-11.pdf"
    assert reports.MONTH.match("2026-11")
    assert not reports.MONTH.match("2026-13")
