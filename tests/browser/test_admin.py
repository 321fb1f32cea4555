"""The admin's journeys: accounts (create with a one-time password shown once, disable with
the open session ended at once, role, password reset, unlock) and rates."""

import datetime
import re
import uuid

from conftest import PASSWORD, Pages, sign_in


def admin_signs_in(page):
    sign_in(page, "admin@localhost")
    assert page.url.endswith("/users")


def test_an_admin_creates_an_account_whose_one_time_password_must_be_changed(
    service, browser, page, pages
):
    admin_signs_in(page)
    pages.check("admin-users")
    page.click("text=Create an account")
    pages.check("admin-new-user")
    email = f"new-auditor-{uuid.uuid4().hex[:6]}@example.org"
    # A bad email comes back beside its field, the name kept.
    page.fill("#email", "not an email")
    page.fill("#display_name", "Nora New")
    page.select_option("#role", "auditor")
    page.click("main button[type=submit]")
    assert "There is a problem" in page.content()
    assert page.input_value("#display_name") == "Nora New"
    pages.check("admin-new-user-refused")
    page.fill("#email", email)
    page.click("main button[type=submit]")
    page.wait_for_load_state("load")
    one_time = page.inner_text("#one-time-password").strip()
    assert re.fullmatch(r"[a-z0-9]{4}(-[a-z0-9]{4}){4}", one_time)
    pages.check("admin-one-time-password")
    # Shown once: the account's page does not show it again.
    page.click("text=Back to Nora New")
    assert one_time not in page.content()
    assert "Must change the one-time password" in page.inner_text("#user-state")
    pages.check("admin-user")

    newcomer = browser.new_context(base_url=service.base)
    new_page = newcomer.new_page()
    sign_in(new_page, email, one_time)
    assert new_page.url.endswith("/account/password")
    newcomer.close()


def test_an_admin_disables_a_user_whose_open_session_ends_at_once(service, browser, page, pages):
    sme = service.user("sme", name="Dana Disabled")
    sme_context = browser.new_context(base_url=service.base)
    sme_page = sme_context.new_page()
    sign_in(sme_page, sme["email"])
    assert "/sign-in" not in sme_page.url

    admin_signs_in(page)
    page.fill("#q", "dana disabled")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state("load")
    page.click("text=Dana Disabled")
    page.click("button:has-text('Disable the account')")
    page.wait_for_load_state("load")
    assert "Disabled Dana Disabled" in page.content()
    assert page.inner_text("#user-state") == "Disabled"
    pages.check("admin-user-disabled")

    # The SME's open session is over: the next page asks to sign in.
    sme_page.goto("/items")
    assert "/sign-in" in sme_page.url
    sme_context.close()

    page.click("button:has-text('Enable the account')")
    page.wait_for_load_state("load")
    assert page.inner_text("#user-state") == "Active"


def test_an_admin_changes_a_role_resets_a_password_and_unlocks_sign_in(
    service, browser, page, pages
):
    person = service.user("sme", name="Rory Role")
    for _ in range(8):
        service.api.call("POST", "/auth/login",
                         {"email": person["email"], "password": "wrong guess"},
                         expect=(401, 429))
    admin_signs_in(page)
    page.goto("/users?q=" + person["email"])
    page.click("text=Rory Role")
    user_url = page.url
    page.click("button:has-text('Unlock sign-in')")
    page.wait_for_load_state("load")
    assert "Unlocked" in page.content()
    service.api.login(person["email"], PASSWORD)  # works again at once

    page.select_option("#role", "program_manager")
    page.click("button:has-text('Change role')")
    page.wait_for_load_state("load")
    assert page.inner_text("#user-role") == "program manager"

    page.click("button:has-text('Reset the password')")
    page.wait_for_load_state("load")
    one_time = page.inner_text("#one-time-password").strip()
    other = browser.new_context(base_url=service.base)
    other_page = other.new_page()
    sign_in(other_page, person["email"], one_time)
    assert other_page.url.endswith("/account/password")
    other.close()

    # An admin cannot disable themselves: refused on the page, nothing changed.
    page.goto("/users?q=admin%40localhost")
    page.click("table >> text=admin@localhost >> xpath=.. >> a")
    page.click("button:has-text('Disable the account')")
    assert "There is a problem" in page.content()
    pages.check("admin-self-refused")
    page.goto(user_url)


def test_an_admin_publishes_a_rate_that_a_later_acceptance_uses(service, page, pages):
    admin_signs_in(page)
    page.click("header nav >> text=Rates")
    pages.check("admin-rates")
    page.click("text=Publish an item rate")
    pages.check("admin-publish-rate")
    today = datetime.date.today()
    page.select_option("#exam_tier", "technology_core")
    page.select_option("#item_type", "performance")
    page.fill("#credits", "9")
    # Yesterday is refused beside its field, the values kept.
    page.fill("#effective_from", (today - datetime.timedelta(days=1)).isoformat())
    page.click("main form button:has-text('Preview')")
    page.wait_for_load_state("load")
    assert "There is a problem" in page.content()
    assert page.input_value("#credits") == "9"
    pages.check("admin-publish-rate-refused")
    page.fill("#effective_from", today.isoformat())
    page.click("main form button:has-text('Preview')")
    page.wait_for_load_state("load")
    preview = page.inner_text(".preview")
    assert "Today: 6 credit(s) per accepted item" in preview
    assert "From today: 9 credit(s) per accepted item" in preview
    # In the words of items, not of workshop days.
    assert "for items accepted from then on" in preview and "attended" not in preview
    pages.check("admin-publish-rate-preview")
    page.click("button:has-text('Publish this version')")
    page.wait_for_load_state("load")
    assert page.url.endswith("/rates")
    assert "Published: Technology core, performance items earn 9 credit(s)" in page.content()
    newest = page.locator("#items-history tbody tr").first
    assert "9" in newest.inner_text()
    # The new version is the one in force today, and the one it replaced is no longer.
    assert "In force today" in newest.inner_text()
    replaced = page.locator(
        "#items-history tbody tr", has_text="Technology core, performance"
    ).nth(1)
    assert "In force today" not in replaced.inner_text()
    assert page.locator("#items-history .in-force").count() == 7  # one per tier and type
    # The program's values the service ships with say so, not a date in 1970.
    requirements = page.inner_text("#requirements-history")
    assert "1970-01-01 00:00" not in requirements
    assert "Shipped with the service" in requirements
    assert "1970-01-01" not in requirements and "From the start" in requirements
    pages.check("admin-rates-in-force")

    # An item accepted afterwards earns the new rate.
    sme = service.user("sme")
    manager = service.user("program_manager")
    item = service.api.call(
        "POST", "/items",
        {"external_ref": "RATE-" + uuid.uuid4().hex[:8], "exam_code": "350-401",
         "exam_tier": "technology_core", "item_type": "performance",
         "authoring_channel": "sme_program"},
        token=service.reader(sme),
    )
    service.api.call("POST", f"/items/{item['id']}/accept", {}, token=service.reader(manager))
    awards = service.api.call(
        "GET", f"/ledger?sme_id={sme['id']}&kind=item_award", token=service.reader(manager)
    )["entries"]
    assert [entry["amount"] for entry in awards] == [9]
