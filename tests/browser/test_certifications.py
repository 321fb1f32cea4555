"""Certifications and recertification progress in the browser (SPEC §10): an SME records
their certification and follows their progress; a program manager records one for an SME."""

import datetime
import re
import uuid

from conftest import Pages, sign_in


def accepted_item(service, sme, manager, tier="technology_core"):
    """An item of `sme`, accepted by `manager` through the API: credits on the ledger."""
    sme_token = service.reader(sme)
    item = service.api.call(
        "POST", "/items",
        {"exam_code": "350-401", "exam_tier": tier, "item_type": "standard",
         "authoring_channel": "sme_program",
         "external_ref": "BANK-" + uuid.uuid4().hex[:8].upper()},
        token=sme_token,
    )
    service.api.call("POST", f"/items/{item['id']}/accept", {}, token=service.reader(manager))


def test_an_sme_records_a_certification_and_sees_its_progress_and_the_chart(service, page, pages):
    sme = service.user("sme", name="Cora Cert")
    manager = service.user("program_manager")
    sign_in(page, sme["email"])
    assert page.locator("#recert-empty").count() == 1, page.url + page.inner_text("main")
    assert "Record your certification" in page.content()
    pages.check("sme-home-no-certification")

    page.click("nav >> text=My certifications")
    page.wait_for_url(re.compile(r"/certifications$"))
    pages.check("my-certifications-empty")
    # Refused values are shown beside their fields and kept.
    page.fill("#name", "CCNP Enterprise")
    page.select_option("#level", "professional")
    page.fill("#certified_on", "2025-03-01")
    page.fill("#expires_on", "2024-03-01")
    page.click("text=Record certification")
    assert "There is a problem" in page.content()
    assert page.locator("#expires_on-error").count() == 1
    assert page.input_value("#name") == "CCNP Enterprise"
    pages.check("my-certifications-refused")

    certified = datetime.date.today() - datetime.timedelta(days=400)
    page.fill("#certified_on", certified.isoformat())
    page.fill("#expires_on", "")
    page.click("text=Record certification")
    page.wait_for_url(re.compile(r"/certifications$"))
    assert "Recorded CCNP Enterprise (Professional)" in page.content()
    assert "0 of 80 credits" in page.content()
    assert "Highest active" in page.content()
    pages.check("my-certifications")

    # An entry-level one says CE does not apply.
    page.fill("#name", "CCST Networking")
    page.select_option("#level", "entry")
    page.fill("#certified_on", certified.isoformat())
    page.click("text=Record certification")
    page.wait_for_url(re.compile(r"/certifications$"))
    assert "CE does not apply" in page.content()

    # A renewal in the future is refused beside its own field.
    renew_field = page.locator("input[name=on]").first
    renew_field.fill((datetime.date.today() + datetime.timedelta(days=5)).isoformat())
    page.locator("button:has-text('Record renewal')").first.click()
    page.wait_for_load_state("load")
    assert "There is a problem" in page.content()
    assert page.locator(".cert .field-error").count() == 1
    pages.check("my-certifications-renewal-refused")

    accepted_item(service, sme, manager)
    page.goto("/")
    bar = page.locator("progress.bar")
    assert bar.count() == 1
    assert int(bar.get_attribute("max")) == 80
    assert int(bar.get_attribute("value")) > 0
    assert "still to earn" in page.content()
    chart = page.locator("svg.chart")
    assert chart.count() == 1
    assert chart.locator("polyline.earned").count() == 1
    assert chart.locator("line.required").count() == 1
    summary = page.inner_text("#chart-summary")
    assert "CCNP Enterprise" in summary and "80 credits" in summary
    page.click("text=Credits by month as a table")
    assert page.locator(".chart-table table tbody tr").count() >= 1
    pages.check("sme-home-recertification")


def test_a_program_manager_records_a_certification_for_an_sme(service, page, pages):
    sme = service.user("sme", name="Sam Subject")
    manager = service.user("program_manager", name="Pia Manager")
    sign_in(page, manager["email"])
    page.goto("/smes?q=Sam+Subject")
    page.click("a:has-text('Certifications')")
    page.wait_for_url(re.compile(r"/smes/[0-9a-f-]+/certifications$"))
    assert "Certifications of Sam Subject" in page.content()
    assert sme["id"] not in page.inner_text("main")
    pages.check("sme-certifications-empty")
    page.fill("#name", "CCIE Enterprise Infrastructure")
    page.select_option("#level", "expert")
    page.fill("#certified_on", (datetime.date.today() - datetime.timedelta(days=30)).isoformat())
    page.click("text=Record certification")
    page.wait_for_url(re.compile(r"/smes/[0-9a-f-]+/certifications$"))
    assert "Recorded CCIE Enterprise Infrastructure (Expert)" in page.content()
    assert "0 of 120 credits" in page.content()
    pages.check("sme-certifications")
    # The renewal goes back to the SME's page.
    page.fill("input[name=on]", datetime.date.today().isoformat())
    page.click("button:has-text('Record renewal')")
    page.wait_for_url(re.compile(r"/smes/[0-9a-f-]+/certifications$"))
    assert "Recorded the renewal of CCIE Enterprise Infrastructure" in page.content()
    assert "Earlier cycles" in page.content()
    pages.check("sme-certifications-renewed")

    # The SME sees it on their own page, recorded through the API's use case.
    listed = service.api.call("GET", "/me/certifications", token=service.reader(sme))
    assert [c["name"] for c in listed["certifications"]] == ["CCIE Enterprise Infrastructure"]
