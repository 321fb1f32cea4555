"""The auditor's journeys: find a posting, verify the chains, export with a manifest that
verifies offline, read the audit log; and a tampered SQLite database shows where it breaks."""

import datetime
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from conftest import (
    BIN, PASSWORD, Api, Pages, first_admin_changes_password_in_the_browser, free_port, sign_in,
)


def ref():
    return "AUD-" + uuid.uuid4().hex[:8].upper()


def accepted_item(service, sme, manager, reference, exam_code="350-401"):
    """An item submitted by `sme` and accepted by `manager`, through the API."""
    item = service.api.call(
        "POST", "/items",
        {"external_ref": reference, "exam_code": exam_code, "exam_tier": "associate",
         "item_type": "standard", "authoring_channel": "sme_program"},
        token=service.reader(sme),
    )
    service.api.call("POST", f"/items/{item['id']}/accept", {}, token=service.reader(manager))
    return item


def test_an_auditor_finds_a_posting_verifies_and_exports_what_verifies_offline(
    service, page, pages, tmp_path
):
    sme = service.user("sme", name="Audrey Author")
    manager = service.user("program_manager")
    auditor = service.user("auditor", name="Ada Auditor")
    reference = ref()
    accepted_item(service, sme, manager, reference)
    today = datetime.date.today().isoformat()

    sign_in(page, auditor["email"])
    assert page.url.endswith("/ledger")
    pages.check("auditor-ledger")
    # By part of the SME's email and today's period: the posting, with its rate and hashes.
    page.fill("#sme", sme["email"].split("@")[0].upper())
    page.fill("#from", today)
    page.fill("#to", today)
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state("load")
    rows = page.locator("table.ledger tbody tr")
    assert rows.count() == 1
    row = rows.first.inner_text()
    assert "Audrey Author" in row and reference in row
    assert "credit(s) per item" in row
    assert re.search(r"[0-9a-f]{64}", row)
    pages.check("auditor-ledger-filtered")
    # A bad filter is refused beside its field, values kept.
    yesterday = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()
    page.fill("#to", yesterday)
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state("load")
    assert "There is a problem" in page.content()
    assert "must not be before the first day" in page.inner_text(".field.has-error")
    assert page.input_value("#sme") == sme["email"].split("@")[0].upper()
    pages.check("auditor-ledger-refused")

    page.click("header nav >> text=Verify")
    pages.check("verify")
    page.click("main button:has-text('Verify now')")
    page.wait_for_load_state("load")
    text = page.inner_text("main")
    assert "The ledger: intact" in text and "The audit log: intact" in text
    assert "First bad seq" not in text
    pages.check("verify-intact")

    page.click("header nav >> text=Exports")
    pages.check("exports")
    page.select_option("#sme", sme["id"])
    page.click("main form button[type=submit]")
    page.wait_for_load_state("load")
    pages.check("exports-prepared")
    command = page.inner_text("#verify-command")
    # Where the program comes from, and why the key must come from elsewhere too.
    assert "cargo install --path ." in page.inner_text("#get-program")
    assert "channel you trust" in page.inner_text("#trusted-key")
    assert command.startswith("sme-ledger verify-export --manifest ")
    files = {}
    for link in ["download-csv", "download-manifest", "download-key"]:
        with page.expect_download() as download:
            page.click(f"#{link}")
        target = tmp_path / download.value.suggested_filename
        download.value.save_as(target)
        files[link] = target
    assert reference in files["download-csv"].read_text()
    checked = subprocess.run(
        [str(BIN), "verify-export", "--manifest", str(files["download-manifest"]),
         "--data", str(files["download-csv"]), "--public-key", str(files["download-key"])],
        capture_output=True, text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # The command the page shows names exactly the files it offered.
    assert files["download-manifest"].name in command and files["download-csv"].name in command

    # The audit log has the export, under the auditor's name; refusals are listed too.
    page.click("header nav >> text=Audit log")
    pages.check("audit-log")
    page.fill("#actor", "ada auditor")
    page.select_option("#action", "report.exported")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state("load")
    assert "Ada Auditor" in page.inner_text("table")
    pages.check("audit-log-filtered")
    page.goto("/workshops/new")  # an auditor may not: a refusal
    page.goto("/audit-log?outcome=refused")
    assert "Refused" in page.inner_text("main")


@pytest.mark.skipif(
    (os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL") or "").startswith(
        "postgres"
    ),
    reason="SQLite only: the test edits the database file with the triggers dropped",
)
def test_a_tampered_sqlite_database_shows_the_first_bad_seq(browser):
    """Runs its own service on its own SQLite file (the shared one must stay intact)."""
    data_dir = tempfile.mkdtemp(prefix="sme-ledger-tamper-")
    port = free_port()
    env = dict(os.environ)
    for name in ["DATABASE_URL", "TEST_DATABASE_URL", "SME_LEDGER_ADMIN_PASSWORD",
                 "SME_LEDGER_PUBLIC_URL"]:
        env.pop(name, None)
    env.update({"SME_LEDGER_DATA_DIR": data_dir, "SME_LEDGER_BIND": f"127.0.0.1:{port}"})
    stderr_path = Path(data_dir) / "stderr.log"
    with open(stderr_path, "w") as stderr:
        process = subprocess.Popen([str(BIN), "serve"], env=env, stdout=subprocess.DEVNULL,
                                   stderr=stderr)
    base = f"http://127.0.0.1:{port}"
    try:
        one_time = None
        for _ in range(600):
            match = re.search(r"one-time password: (\S+)", stderr_path.read_text())
            one_time = match.group(1) if match else None
            try:
                urllib.request.urlopen(base + "/readyz")
                if one_time:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.1)
        api = Api(base)
        admin = first_admin_changes_password_in_the_browser(browser, base, one_time, api)

        def account(role):
            email = f"{role}-{uuid.uuid4().hex[:6]}@example.org"
            first = "first " + uuid.uuid4().hex
            api.call("POST", "/users", {"email": email, "role": role, "password": first,
                                         "display_name": role.title()}, token=admin)
            token = api.login(email, first)
            api.call("PUT", "/me/password",
                     {"current_password": first, "new_password": PASSWORD}, token=token)
            return email, api.login(email, PASSWORD)

        _, sme = account("sme")
        _, manager = account("program_manager")
        auditor, _ = account("auditor")
        for _ in range(3):
            item = api.call("POST", "/items", {
                "external_ref": ref(), "exam_code": "350-401", "exam_tier": "associate",
                "item_type": "standard", "authoring_channel": "sme_program"}, token=sme)
            api.call("POST", f"/items/{item['id']}/accept", {}, token=manager)

        database = sqlite3.connect(Path(data_dir) / "sme-ledger.db")
        database.execute("DROP TRIGGER ledger_entries_no_update")
        (seq,) = database.execute("SELECT MIN(seq) + 1 FROM ledger_entries").fetchone()
        database.execute("UPDATE ledger_entries SET amount = amount + 100 WHERE seq = ?", (seq,))
        database.commit()
        database.close()

        context = browser.new_context(base_url=base)
        page = context.new_page()
        pages = Pages(page)
        sign_in(page, auditor)
        page.goto("/verify?run=1")
        text = page.inner_text("main")
        assert "The ledger: broken" in text
        assert f"Broken at seq {seq}" in text
        assert "The audit log: intact" in text
        pages.check("verify-broken")
        context.close()
    finally:
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(data_dir, ignore_errors=True)


def test_the_summary_shows_a_period_and_downloads_as_csv(service, page, pages, tmp_path):
    sme = service.user("sme", name="Summary Sam")
    manager = service.user("program_manager")
    auditor = service.user("auditor")
    accepted_item(service, sme, manager, ref())
    sign_in(page, auditor["email"])
    page.click("header nav >> text=Summary")
    assert int(page.inner_text("#summary-total")) >= 1
    assert "Summary Sam" in page.inner_text("#summary-smes")
    pages.check("summary")
    today = datetime.date.today()
    page.fill("#from", today.isoformat())
    page.fill("#to", (today - datetime.timedelta(days=2)).isoformat())
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state("load")
    assert "must not be before the first day" in page.content()
    pages.check("summary-refused")
    page.goto("/summary")
    with page.expect_download() as download:
        page.click("#summary-csv")
    target = tmp_path / "summary.csv"
    download.value.save_as(target)
    text = target.read_text()
    assert text.startswith("sme_id,") and "Summary Sam" in text
