"""Charts: SVG drawn on the server, each with its text summary and its table alternative."""

import re

from conftest import sign_in
from test_auditor import accepted_item, ref


def test_the_summary_chart_renders_with_its_text_and_table(service, page, pages):
    sme = service.user("sme", name="Chart Author")
    manager = service.user("program_manager")
    accepted_item(service, sme, manager, ref())
    sign_in(page, manager["email"])
    page.click("header nav >> text=Summary")
    chart = page.locator("svg#monthly-credits")
    assert chart.count() == 1
    assert chart.get_attribute("role") == "img"
    assert chart.locator("rect[class^=series-]").count() >= 2  # a bar and its legend key
    assert page.locator("#monthly-credits-title").count() == 1
    summary = page.inner_text("#monthly-summary")
    assert re.search(r"\d+ credits in all", summary)
    assert page.locator("svg#exam-decisions").count() == 1
    assert "accepted" in page.inner_text("#exams-summary")
    for summary in page.locator("details.chart-table summary").all():
        summary.click()
    assert "350-401" in page.inner_text("#exams-table")
    rows = page.locator("#monthly-table tbody tr")
    assert rows.count() >= 1
    assert "Items: Associate" in page.inner_text("#monthly-table thead")
    pages.check("summary-chart")
    # Drawn without any inline style or script (the page as served, before axe ran in it).
    html = page.request.get("/summary").text()
    assert "<svg" in html
    assert "style=" not in html and "<script" not in html
