"""Separation of duties in the browser: a program manager who invited an SME is not offered
that SME's decisions or attendance and is told who may; an auditor reads the
separation-of-duties report."""

import datetime
import re
import uuid

from conftest import PASSWORD, sign_in


def submitted_item(service, sme_token, reference):
    return service.api.call(
        "POST", "/items",
        {"external_ref": reference, "exam_code": "350-401", "exam_tier": "ccie_lab",
         "item_type": "performance", "authoring_channel": "sme_program"},
        token=sme_token,
    )


def test_an_onboarder_is_not_offered_their_smes_decisions_and_is_told_who_may(
    service, page, pages
):
    pat = service.user("program_manager", name="Pat Inviter")
    other = service.user("program_manager", name="Omar Other")
    email = f"puppet-{uuid.uuid4().hex[:6]}@example.org"
    sign_in(page, pat["email"])
    page.goto("/smes/new")
    page.fill("#email", email)
    page.fill("#display_name", "Polly Puppet")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/smes$"))

    link = service.mailed_link(email, "/invitation")
    token = link.split("token=", 1)[1]
    service.api.call("POST", "/auth/invitations/accept",
                     {"token": token, "password": "Polly's own passphrase"})
    polly = service.api.login(email, "Polly's own passphrase")
    item = submitted_item(service, polly, "SOD-" + uuid.uuid4().hex[:8].upper())

    page.goto(f"/items/{item['id']}")
    assert page.locator("#onboarder-note").is_visible()
    assert "another program manager does" in page.content()
    assert page.locator(f"form[action='/items/{item['id']}/accept']").count() == 0
    pages.check("item-onboarder")
    page.goto("/review")
    assert page.locator(f"input[value='{item['id']}']").count() == 0
    assert "another program manager decides" in page.content()
    pages.check("review-queue-onboarder")

    # Another program manager accepts it from the same page.
    page.click("button:has-text('Sign out')")
    sign_in(page, other["email"])
    page.goto(f"/items/{item['id']}")
    assert page.locator("#onboarder-note").count() == 0
    page.click(f"form[action='/items/{item['id']}/accept'] button[type=submit]")
    page.wait_for_load_state("load")
    assert "Accepted" in page.content()


def test_an_auditor_reads_the_separation_of_duties_report(service, page, pages):
    # The fixtures' accounts all signed in from this test's API client (one address, one
    # user agent), so a credit one of them decides for another is a finding.
    sme = service.user("sme", name="Sam Shared")
    manager = service.user("program_manager", name="Mia Shared")
    auditor = service.user("auditor", name="Ada Auditor")
    item = submitted_item(service, service.reader(sme), "SOD-" + uuid.uuid4().hex[:8].upper())
    award = service.api.call("POST", f"/items/{item['id']}/accept", {},
                             token=service.reader(manager))["award"]

    sign_in(page, auditor["email"])
    page.click("nav >> text=Separation of duties")
    page.wait_for_url(re.compile(r"/separation-of-duties$"))
    assert award["id"] in page.content()
    assert "Sam Shared" in page.content() and "Mia Shared" in page.content()
    assert "First sign in" in page.content() or "First sign-in" in page.content()
    pages.check("separation-of-duties")
