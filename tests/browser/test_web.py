"""Journeys through the web interface, as SMEs and program managers walk them."""

import datetime
import re
import uuid

from conftest import PASSWORD, Pages, sign_in

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def ref():
    return "BANK-" + uuid.uuid4().hex[:8].upper()


def submit_item(page, reference, exam_code="350-401", tier="associate", item_type="standard",
                channel="sme_program"):
    page.goto("/items/new")
    page.fill("#external_ref", reference)
    page.fill("#exam_code", exam_code)
    page.select_option("#exam_tier", tier)
    page.check(f"input[name=item_type][value={item_type}]")
    page.check(f"input[name=authoring_channel][value={channel}]")
    page.click("main button[type=submit]")
    page.wait_for_load_state("load")


def awards_of(service, sme_id):
    return service.api.call(
        "GET", f"/ledger?sme_id={sme_id}&kind=item_award", token=service.admin_reader
    )["entries"]


def test_every_page_carries_the_security_headers(service, page, pages):
    sme = service.user("sme")
    for path in ["/", "/sign-in", "/no-such-page"]:
        response = page.goto(path)
        headers = response.headers
        assert headers["content-security-policy"] == CSP, path
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        assert headers["cache-control"] == "no-store"
    pages.check("not-found")
    assert "Request id" in page.content()
    sign_in(page, sme["email"])
    for path in ["/", "/items", "/items/new", "/statement", "/workshop-days"]:
        response = page.goto(path)
        assert response.headers["content-security-policy"] == CSP, path
        assert response.headers["cache-control"] == "no-store", path
    css = page.locator("link[rel=stylesheet]").get_attribute("href")
    assert re.fullmatch(r"/static/app\.[0-9a-f]{16}\.css", css)
    response = page.request.get(css)
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    # No inline style or script anywhere: the CSP would block it.
    html = page.content()
    assert "style=" not in html and "<script" not in html


def test_a_wrong_password_gets_the_generic_message_and_keeps_the_email(service, page, pages):
    sme = service.user("sme")
    sign_in(page, sme["email"], "not the password at all")
    assert "/sign-in" in page.url
    assert "The email or password is not correct." in page.content()
    assert page.input_value("#email") == sme["email"]
    assert page.input_value("#password") == ""
    # Neither field is marked (saying which was wrong would tell whether the account exists).
    assert page.locator(".has-error, [aria-invalid=true]").count() == 0
    assert page.locator(".error-summary a").count() == 0
    pages.check("sign-in-refused")
    sign_in(page, "nobody-" + sme["email"], "not the password at all")
    assert "The email or password is not correct." in page.content()


def test_repeated_failures_are_throttled(service, page, pages):
    sme = service.user("sme")
    for _ in range(8):
        sign_in(page, sme["email"], "wrong password again")
    # The wait in minutes, as people say it.
    assert re.search(r"Too many attempts; try again in \d+ minutes?\.", page.content())
    pages.check("sign-in-throttled")
    # Even the right password is refused while the lock lasts.
    sign_in(page, sme["email"])
    assert "/sign-in" in page.url


def test_a_new_account_changes_its_first_password_before_anything_else(service, page, pages):
    sme = service.user("sme", change_password=False)
    sign_in(page, sme["email"], sme["first_password"])
    assert page.url.endswith("/account/password")
    page.goto("/items/new")
    assert page.url.endswith("/account/password")
    page.fill("#current_password", sme["first_password"])
    page.fill("#new_password", "short")
    page.fill("#confirm_password", "short")
    page.click("main button[type=submit]")
    assert "There is a problem" in page.content()
    pages.check("password-change-refused")
    page.fill("#current_password", sme["first_password"])
    page.fill("#new_password", PASSWORD)
    page.fill("#confirm_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    assert "Your credits" in page.content()


def test_sign_in_returns_to_the_page_asked_for_but_never_to_another_site(service, page):
    sme = service.user("sme")
    page.goto("/items?status=submitted")
    assert "/sign-in?next=" in page.url
    page.fill("#email", sme["email"])
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/items\?status=submitted$"))
    page.context.clear_cookies()
    page.goto("/sign-in?next=//evil.example/steal")
    page.fill("#email", sme["email"])
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state("load")
    assert page.url == service.base + "/"


def test_an_item_submitted_by_an_sme_and_accepted_by_a_manager_shows_in_the_sme_credits(
    service, browser
):
    sme = service.user("sme", name="Ann Lee")
    manager = service.user("program_manager", name="Pat Manager")
    reference = ref()

    sme_context = browser.new_context(base_url=service.base)
    sme_page = sme_context.new_page()
    sme_pages = Pages(sme_page)
    sign_in(sme_page, sme["email"])
    sme_pages.check("sme-home-empty")
    # A refused submission keeps the values and says why beside the field.
    sme_page.goto("/items/new")
    # The form says what an accepted item earns today, tier by tier.
    earns = sme_page.locator("#item-rates-today tbody tr", has_text="Associate, performance")
    assert "4 credit(s)" in earns.inner_text()
    sme_pages.check("submit-item")
    sme_page.fill("#external_ref", reference)
    sme_page.fill("#exam_code", "350 401 with spaces")
    sme_page.select_option("#exam_tier", "ccie_lab")
    sme_page.check("input[name=item_type][value=standard]")
    sme_page.check("input[name=authoring_channel][value=sme_program]")
    sme_page.click("main button[type=submit]")
    assert "There is a problem" in sme_page.content()
    assert sme_page.input_value("#external_ref") == reference
    assert sme_page.locator(".field.has-error").count() >= 2
    # In the form's words and in the form's order: the exam code's field comes before the
    # item type's, and the tier is called as the form shows it.
    summary = sme_page.locator(".error-summary li").all_inner_texts()
    assert summary[0].startswith("Exam code:"), summary
    assert any("CCIE lab items are performance items" in line for line in summary), summary
    assert not any("ccie_lab" in line or "_" in line.split(":")[0] for line in summary), summary
    sme_pages.check("submit-item-refused")
    submit_item(sme_page, reference, tier="associate", item_type="performance")
    assert sme_page.url.endswith("/items")
    assert f"Submitted item {reference}" in sme_page.content()
    sme_pages.check("my-items")

    pm_context = browser.new_context(base_url=service.base)
    pm_page = pm_context.new_page()
    pm_pages = Pages(pm_page)
    sign_in(pm_page, manager["email"])
    assert pm_page.url.endswith("/review")
    assert "Ann Lee" in pm_page.content()
    pm_pages.check("review-queue")
    pm_page.fill("#exam_code", "350-401")
    pm_page.select_option("#sme", sme["id"])
    pm_page.click("form.filters button[type=submit]")
    assert int(pm_page.inner_text("#waiting-count")) >= 1
    pm_page.click(f"text={reference}")
    pm_page.wait_for_url(re.compile(r"/items/[0-9a-f-]+$"))
    pm_pages.check("item-page")
    # Rejecting needs a reason: refused beside the field.
    pm_page.click("button:has-text('Reject')")
    assert "There is a problem" in pm_page.content()
    assert pm_page.inner_text("#item-status") == "submitted"
    pm_pages.check("item-reject-refused")
    pm_page.click("button:has-text('Accept')")
    pm_page.wait_for_load_state("load")
    assert f"Accepted {reference}: 4 credit(s) posted to Ann Lee." in pm_page.content()
    assert pm_page.inner_text("#item-status") == "accepted"
    pm_pages.check("item-accepted")

    sme_page.goto("/")
    assert sme_page.inner_text("#total-credits") == "4"
    assert reference in sme_page.content()
    sme_pages.check("sme-home")
    sme_page.goto("/statement")
    assert "4 credits" in sme_page.content()
    sme_pages.check("statement")

    # Revoking takes the credits back, with a reason.
    pm_page.fill("#revoke_reason", "found to be copied from a public source")
    pm_page.click("button:has-text('Revoke')")
    pm_page.wait_for_load_state("load")
    assert pm_page.inner_text("#item-status") == "revoked"
    assert "4 credit(s) reversed" in pm_page.content() or "-4 credit(s) reversed" in pm_page.content()
    pm_pages.check("item-revoked")
    sme_page.goto("/")
    assert sme_page.inner_text("#total-credits") == "0"
    sme_context.close()
    pm_context.close()


def test_an_sme_withdraws_a_submitted_item_after_confirming(service, page, pages):
    sme = service.user("sme")
    reference = ref()
    sign_in(page, sme["email"])
    submit_item(page, reference)
    # The list's link asks first; keeping the item changes nothing.
    page.click(f"a:has-text('Withdraw {reference}')")
    page.wait_for_url(re.compile(r"/items/[0-9a-f-]+/withdraw$"))
    assert "cannot be undone" in page.inner_text("#withdraw-means")
    pages.check("withdraw-confirm")
    page.click("text=Keep it")
    page.wait_for_url(re.compile(r"/items$"))
    page.goto("/items?status=submitted")
    assert reference in page.content()
    page.click(f"a:has-text('Withdraw {reference}')")
    page.click(f"button:has-text('Withdraw {reference}')")
    page.wait_for_url(re.compile(r"/items$"))
    assert f"Withdrew item {reference}" in page.content()
    page.goto("/items?status=withdrawn")
    assert reference in page.content()
    pages.check("my-items-withdrawn")


def test_my_items_are_paged_newest_first(service, page, pages):
    sme = service.user("sme")
    token = service.reader(sme)
    references = [ref() for _ in range(52)]
    for reference in references:
        service.api.call(
            "POST", "/items",
            {"external_ref": reference, "exam_code": "350-401", "exam_tier": "associate",
             "item_type": "standard", "authoring_channel": "sme_program"},
            token=token,
        )
    sign_in(page, sme["email"])
    page.goto("/items")
    first = page.locator("tbody tr td:first-child").all_inner_texts()
    assert len(first) == 50
    # The newest is on top, so an SME with many items reaches the new ones to withdraw them.
    assert first[0] == references[-1] and first[-1] == references[2]
    page.click("text=Older items")
    older = page.locator("tbody tr td:first-child").all_inner_texts()
    assert older == [references[1], references[0]]
    pages.check("my-items-older")
    page.click("text=Newest items")
    assert page.locator("tbody tr td:first-child").first.inner_text() == references[-1]


def test_accepting_several_items_at_once_says_how_each_went(service, browser, page, pages):
    sme = service.user("sme", name="Bulk Author")
    manager = service.user("program_manager")
    references = [ref() for _ in range(3)]
    sme_context = browser.new_context(base_url=service.base)
    sme_page = sme_context.new_page()
    sign_in(sme_page, sme["email"])
    for reference in references:
        submit_item(sme_page, reference)
    sme_context.close()

    sign_in(page, manager["email"])
    page.goto(f"/review?sme={sme['id']}")
    for reference in references:
        page.check(f"input[aria-label='Select {reference}']")
    # Someone else decides the third first: it is reported, the others still go through.
    items = service.api.call(
        "GET", f"/items?sme_id={sme['id']}&status=submitted", token=service.reader(manager)
    )["items"]
    third = next(item for item in items if item["external_ref"] == references[2])
    other = service.user("program_manager")
    service.api.call(
        "POST", f"/items/{third['id']}/reject", {"reason": "duplicate"},
        token=service.api.login(other["email"], PASSWORD),
    )
    page.click("text=Accept selected items")
    page.wait_for_load_state("load")
    content = page.content()
    for reference in references[:2]:
        assert f"Accepted {reference}: 1 credit(s) posted to Bulk Author." in content
    assert f"Not accepted: {references[2]}" in content
    pages.check("bulk-accept-result")
    awards = service.api.call(
        "GET", f"/ledger?sme_id={sme['id']}&kind=item_award", token=service.reader(manager)
    )["entries"]
    assert len(awards) == 2


def test_a_double_clicked_accept_posts_once_and_shows_the_result(service, browser, page):
    sme = service.user("sme", name="Dee Double")
    manager = service.user("program_manager")
    reference = ref()
    sme_context = browser.new_context(base_url=service.base)
    sme_page = sme_context.new_page()
    sign_in(sme_page, sme["email"])
    submit_item(sme_page, reference)
    sme_context.close()

    sign_in(page, manager["email"])
    page.goto(f"/review?sme={sme['id']}")
    page.click(f"text={reference}")
    page.wait_for_url(re.compile(r"/items/[0-9a-f-]+$"))
    item_url = page.url
    form = page.locator(f"form[action$='/accept']")
    fields = {
        "csrf_token": form.locator("input[name=csrf_token]").input_value(),
        "once": form.locator("input[name=once]").input_value(),
        "note": "",
    }
    page.dblclick("button:has-text('Accept')")
    # The second click shows the result of the first, not a conflict.
    page.wait_for_selector(f"text=Accepted {reference}")
    page.wait_for_load_state("networkidle")
    assert "This has changed" not in page.content()
    # The same form posted again (a retry, a third click) answers the first result.
    again = page.request.post(
        item_url + "/accept", form=fields, headers={"Origin": service.base}, max_redirects=0
    )
    assert again.status == 303
    assert again.headers["location"] == item_url.replace(service.base, "")
    page.goto(item_url)
    assert page.inner_text("#item-status") == "accepted"
    assert f"Accepted {reference}" in page.inner_text("main"), page.inner_text("main")
    awards = service.api.call(
        "GET", f"/ledger?sme_id={sme['id']}&kind=item_award", token=service.reader(manager)
    )["entries"]
    assert len(awards) == 1


def test_a_post_from_another_origin_or_without_the_token_changes_nothing(service, page, pages):
    sme = service.user("sme")
    sign_in(page, sme["email"])
    page.goto("/items/new")
    token = page.locator("input[name=csrf_token]").first.input_value()
    form = {"external_ref": ref(), "exam_code": "200-301", "exam_tier": "associate",
            "item_type": "standard", "authoring_channel": "sme_program",
            "once": str(uuid.uuid4())}
    foreign = page.request.post(
        "/items/new", form={**form, "csrf_token": token},
        headers={"Origin": "https://evil.example"}, max_redirects=0,
    )
    assert foreign.status == 403
    assert "Nothing was changed" in foreign.text()
    tokenless = page.request.post(
        "/items/new", form=form, headers={"Origin": service.base}, max_redirects=0
    )
    assert tokenless.status == 403
    page.goto("/items")
    assert form["external_ref"] not in page.content()
    page.set_content(foreign.text())
    pages.check("csrf-refused")


def test_a_session_ends_at_sign_out_and_when_the_account_is_disabled(service, browser, page):
    sme = service.user("sme")
    sign_in(page, sme["email"])
    cookies = page.context.cookies()
    session = next(c for c in cookies if c["name"] == "sme_session")
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    page.click("header button:has-text('Sign out')")
    page.wait_for_url(re.compile(r"/sign-in\?signed_out=1$"))
    assert "You are signed out." in page.content()
    # The old cookie no longer opens anything.
    replay = browser.new_context(base_url=service.base)
    replay.add_cookies([session])
    replay_page = replay.new_page()
    replay_page.goto("/items")
    assert "/sign-in" in replay_page.url
    replay.close()

    sign_in(page, sme["email"])
    page.goto("/items")
    assert page.url.endswith("/items")
    service.api.call("PATCH", f"/users/{sme['id']}", {"disabled": True}, token=service.admin)
    page.goto("/items")
    assert "/sign-in" in page.url


def test_a_manager_finds_smes_and_creates_an_sme_account(service, page, pages):
    manager = service.user("program_manager")
    named = service.user("sme", name="Zed Searchable")
    service.user("sme", name="Aaron Early")
    sign_in(page, manager["email"])
    page.goto("/smes")
    pages.check("smes")
    # In name order, whatever order the accounts were made in.
    names = page.locator("main table tbody tr td:first-child").all_inner_texts()
    assert names == sorted(names, key=lambda name: name.lower()), names
    page.fill("#q", "zed search")
    page.click("form.filters button[type=submit]")
    assert named["email"] in page.content()
    assert "1 of" in page.content()
    page.goto("/smes/new")
    pages.check("new-sme")
    assert page.locator("#password").count() == 0, "the manager never chooses the password"
    email = f"new-sme-{uuid.uuid4().hex[:6]}@example.org"
    page.fill("#email", "not an email")
    page.fill("#display_name", "Nora New")
    page.click("main button[type=submit]")
    assert "There is a problem" in page.content()
    assert page.input_value("#display_name") == "Nora New"
    pages.check("new-sme-refused")
    page.fill("#email", email)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/smes$"))
    assert "Invited Nora New" in page.content()
    assert email in page.content()

    # Nora follows the mailed link, chooses her password and signs in.
    link = service.mailed_link(email, "/invitation")
    page.click("button:has-text('Sign out')")
    page.goto(link)
    pages.check("invitation")
    page.fill("#new_password", "Nora's own passphrase")
    page.fill("#confirm_password", "not the same")
    page.click("main button[type=submit]")
    assert "must be the same" in page.content()
    pages.check("invitation-refused")
    page.fill("#new_password", "Nora's own passphrase")
    page.fill("#confirm_password", "Nora's own passphrase")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/sign-in"))
    assert "Your password is set" in page.content()
    sign_in(page, email, "Nora's own passphrase")
    assert "Nora New" in page.content()
    # The link worked once.
    page.click("button:has-text('Sign out')")
    page.goto(link)
    page.fill("#new_password", "another passphrase here")
    page.fill("#confirm_password", "another passphrase here")
    page.click("main button[type=submit]")
    assert "This link cannot be used" in page.content()
    pages.check("invitation-used")


def test_a_forgotten_password_is_reset_through_the_mailed_link(service, page, pages):
    sme = service.user("sme", name="Fay Forgetful")
    page.goto("/sign-in")
    page.click("text=Forgotten your password?")
    pages.check("password-reset-request")
    page.fill("#email", sme["email"])
    page.click("main button[type=submit]")
    assert "a link to choose a new password is on" in page.content()
    pages.check("password-reset-sent")
    page.goto(service.mailed_link(sme["email"], "/password-reset"))
    pages.check("password-reset-choose")
    page.fill("#new_password", "Fay's fresh passphrase")
    page.fill("#confirm_password", "Fay's fresh passphrase")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/sign-in"))
    assert "Your password is reset" in page.content()
    sign_in(page, sme["email"], "Fay's fresh passphrase")
    assert "Fay Forgetful" in page.content()


def test_a_manager_logs_attendance_for_several_smes_and_days_all_or_nothing(service, page, pages):
    service.api.call(
        "POST", "/rates/workshops",
        {"certification_level": "professional", "credits_per_day": 5,
         "effective_from": datetime.date.today().isoformat()},
        token=service.admin, expect=(201, 409, 422),
    )
    manager = service.user("program_manager")
    ann = service.user("sme", name="Workshop Ann")
    bob = service.user("sme", name="Workshop Bob")
    title = "JTA " + uuid.uuid4().hex[:6]
    first = datetime.date.today() - datetime.timedelta(days=3)
    last = first + datetime.timedelta(days=1)

    sign_in(page, manager["email"])
    page.goto("/workshops")
    pages.check("workshops")
    page.goto("/workshops/new")
    pages.check("new-workshop")
    page.fill("#title", title)
    page.check("input[name=kind][value=jta]")
    page.select_option("#certification_level", "professional")
    page.fill("#starts_on", last.isoformat())
    page.fill("#ends_on", first.isoformat())
    page.click("main button[type=submit]")
    assert "There is a problem" in page.content()
    assert page.input_value("#title") == title
    pages.check("new-workshop-refused")
    page.fill("#starts_on", first.isoformat())
    page.fill("#ends_on", last.isoformat())
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/workshops/[0-9a-f-]+$"))
    pages.check("workshop-empty")

    for person in (ann, bob):
        page.check(f"input[name=sme][value='{person['id']}']")
    page.check(f"input[name=day][value='{first.isoformat()}']")
    page.check(f"input[name=day][value='{last.isoformat()}']")
    page.click("main button:has-text('Log attendance')")
    page.wait_for_load_state("load")
    assert "4 day(s) credited to 2 SME(s)" in page.content()
    assert page.locator("text=Workshop Ann").count() >= 2
    pages.check("workshop-credited")

    # One day already credited to Ann: nothing is posted, for anyone.
    carol = service.user("sme", name="Workshop Carol")
    page.reload()
    page.check(f"input[name=sme][value='{ann['id']}']")
    page.check(f"input[name=sme][value='{carol['id']}']")
    page.check(f"input[name=day][value='{first.isoformat()}']")
    page.click("main button:has-text('Log attendance')")
    page.wait_for_load_state("load")
    assert "Workshop Ann" in page.inner_text(".error-summary")
    pages.check("workshop-attendance-refused")
    days = service.api.call(
        "GET", f"/ledger?sme_id={carol['id']}", token=service.reader(manager)
    )["entries"]
    assert days == []

    sign_in(page, ann["email"])
    page.goto("/workshop-days")
    assert title in page.content()
    pages.check("my-workshop-days")


def test_pages_work_at_320_pixels_and_by_keyboard(service, browser):
    sme = service.user("sme")
    context = browser.new_context(base_url=service.base, viewport={"width": 320, "height": 640})
    page = context.new_page()
    pages = Pages(page)
    sign_in(page, sme["email"])
    submit_item(page, ref())
    for path, name in [("/", "narrow-sme-home"), ("/items/new", "narrow-submit-item"),
                       ("/statement", "narrow-statement"), ("/items", "narrow-my-items")]:
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"{path} is {width} px wide at 320"
        pages.check(name)
    # The staff's lists too, with long names in their choices.
    service.user("sme", name="Maximiliana Wolfeschlegelsteinhausen-Bergerdorff")
    for role, paths in [("program_manager", ["/review", "/smes", "/items"]),
                        ("auditor", ["/exports", "/ledger"])]:
        sign_in(page, service.user(role)["email"])
        for path in paths:
            page.goto(path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 320, f"{path} is {width} px wide at 320 for a {role}"
    sign_in(page, sme["email"])
    # The first Tab reaches the skip link, which moves to the main content.
    page.goto("/items/new")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # A whole submission by keyboard alone.
    reference = ref()
    page.focus("#external_ref")
    page.keyboard.type(reference)
    page.keyboard.press("Tab")
    page.keyboard.type("200-301")
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/items$"))
    assert f"Submitted item {reference}" in page.content()
    context.close()


def test_other_roles_get_a_home_that_says_where_to_go(service, page, pages):
    auditor = service.user("auditor")
    sign_in(page, auditor["email"])
    assert page.url.endswith("/ledger")
    pages.check("auditor-home")
    response = page.goto("/review/accept")
    assert response.status == 405
    response = page.goto("/smes/new")
    assert response.status == 403
    assert "Request id" in page.content()
    # An error page keeps the navigation and the sign-out of whoever is signed in.
    assert page.locator("header button:has-text('Sign out')").count() == 1
    pages.check("forbidden")


def test_a_manager_finds_an_accepted_item_by_its_reference_and_revokes_it(service, page, pages):
    sme = service.user("sme", name="Rita Reyes")
    manager = service.user("program_manager")
    reference = ref()
    item = service.api.call(
        "POST", "/items",
        {"external_ref": reference, "exam_code": "350-401", "exam_tier": "associate",
         "item_type": "standard", "authoring_channel": "sme_program"},
        token=service.reader(sme),
    )
    service.api.call("POST", f"/items/{item['id']}/accept", {}, token=service.reader(manager))
    sign_in(page, manager["email"])
    page.click("header nav >> text=Items")
    pages.check("items")
    # Typed another way: lower case, an underscore for the dash.
    page.fill("#reference", reference.lower().replace("-", "_"))
    page.select_option("#status", "accepted")
    page.click("form.filters button[type=submit]")
    rows = page.locator("#found-items tbody tr")
    assert rows.count() == 1
    assert "Rita Reyes" in rows.first.inner_text()
    pages.check("items-found")
    page.click(f"#found-items >> text={reference}")
    page.wait_for_url(re.compile(r"/items/[0-9a-f-]+$"))
    page.fill("#revoke_reason", "copied from a public source")
    page.click("button:has-text('Revoke')")
    page.wait_for_load_state("load")
    assert page.inner_text("#item-status") == "revoked"
    # Found again by part of the author's name, now revoked.
    page.goto("/items?sme=rita&status=revoked")
    assert reference in page.inner_text("#found-items")
    # A value the API would refuse is refused beside its field.
    page.goto("/items?status=lost")
    assert "Status: choose one of the options shown" in page.inner_text(".error-summary")
    pages.check("items-refused")
