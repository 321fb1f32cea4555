"""Report pages: the review queue's age on the summary, the recertification report with its
chart and CSV, and an SME's statement as CSV."""

import csv
import datetime
import io
import uuid

from conftest import sign_in
from test_auditor import accepted_item, ref


def granted_for_end_in(days):
    """The day a 3-year cycle granted then ends `days` from today (UTC)."""
    today = datetime.datetime.now(datetime.timezone.utc).date()
    try:
        three_years_ago = today.replace(year=today.year - 3)
    except ValueError:  # 29 February
        three_years_ago = today.replace(year=today.year - 3, day=28)
    return (three_years_ago + datetime.timedelta(days=days)).isoformat()


def open_tables(page):
    for summary in page.locator("details.chart-table summary").all():
        summary.click()


def test_the_review_queue_age_chart_renders_with_its_text_and_table(service, page, pages):
    sme = service.user("sme", name="Waiting Author")
    manager = service.user("program_manager")
    service.api.call(
        "POST", "/items",
        {"external_ref": ref(), "exam_code": "350-401", "exam_tier": "associate",
         "item_type": "standard", "authoring_channel": "sme_program"},
        token=service.reader(sme),
    )
    sign_in(page, manager["email"])
    page.click("header nav >> text=Summary")
    chart = page.locator("svg#queue-age")
    assert chart.count() == 1
    assert chart.get_attribute("role") == "img"
    assert page.locator("#queue-age-title").count() == 1
    assert "waiting for a decision" in page.inner_text("#ages-summary")
    open_tables(page)
    under_a_day = page.locator("#ages-table tbody tr").filter(has_text="Under 1 day")
    assert int(under_a_day.locator("td").inner_text()) >= 1
    assert page.locator("#ages-table tbody tr").count() == 6
    pages.check("summary-queue-age")


def test_the_recertification_report_renders_its_chart_and_downloads_its_csv(
    service, page, pages, tmp_path
):
    name = f"Renee Renewal {uuid.uuid4().hex[:4]}"
    sme = service.user("sme", name=name)
    service.api.call(
        "POST", "/me/certifications",
        {"name": "CCNA", "level": "associate", "certified_on": granted_for_end_in(30)},
        token=service.reader(sme),
    )
    manager = service.user("program_manager")
    sign_in(page, manager["email"])
    page.click("header nav >> text=Recertification")
    assert page.locator("header nav a[aria-current=page]").inner_text() == "Recertification"
    chart = page.locator("svg#recertification-status")
    assert chart.count() == 1
    assert chart.get_attribute("role") == "img"
    assert "due soon" in page.inner_text("#recertification-summary")
    open_tables(page)
    due = page.locator("#recertification-status-table tbody tr").filter(has_text="Due soon")
    assert int(due.locator("td").inner_text()) >= 1
    assert page.locator("#recertification-lines").get_by_role("link", name=name).count() == 1
    pages.check("recertification")

    with page.expect_download() as download:
        page.click("#recertification-csv")
    target = tmp_path / download.value.suggested_filename
    download.value.save_as(target)
    assert target.name == "recertification.csv"
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    mine = [row for row in rows if row["email"] == sme["email"]]
    assert len(mine) == 1 and mine[0]["status"] == "due_soon" and mine[0]["name"] == "CCNA"

    page.select_option("#status", "expired")
    page.click("form.filters button[type=submit]")
    assert page.locator("#recertification-lines").get_by_role("link", name=name).count() == 0
    page.fill("#within_days", "soon")
    page.click("form.filters button[type=submit]")
    assert "whole number of days" in page.inner_text("#within_days-error")
    pages.check("recertification-error")

    # The SME's name leads to their certifications.
    page.goto("/recertification")
    page.locator("#recertification-lines").get_by_role("link", name=name).click()
    assert page.url.endswith(f"/smes/{sme['id']}/certifications")


def test_an_sme_downloads_their_statement_as_csv(service, page, pages, tmp_path):
    sme = service.user("sme", name="Stella Statement")
    manager = service.user("program_manager")
    accepted_item(service, sme, manager, ref())
    sign_in(page, sme["email"])
    with page.expect_download() as download:
        page.click("#home-statement-csv")
    assert download.value.suggested_filename == "statement-Stella-Statement-all-time.csv"
    page.click("header nav >> text=My statement")
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    page.fill("#from", today)
    page.fill("#to", today)
    page.click("form.filters button[type=submit]")
    pages.check("statement")
    with page.expect_download() as download:
        page.click("#statement-csv")
    target = tmp_path / download.value.suggested_filename
    download.value.save_as(target)
    assert target.name == f"statement-Stella-Statement-{today}-to-{today}.csv"
    rows = list(csv.reader(io.StringIO(target.read_text())))
    assert rows[0] == ["source", "count", "credits"]
    assert rows[1][:2] == ["Items: Associate, Standard", "1"]
    assert rows[-1][0] == "Total" and rows[-1][2] == rows[1][2]
    shown = page.locator("section[aria-labelledby=statement-title] tbody tr").first.inner_text()
    assert "Items: Associate, Standard" in shown
