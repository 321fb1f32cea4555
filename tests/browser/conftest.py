"""Browser tests of the web interface (SPEC §9) in Debian's Chromium, driven by Playwright.

The service under test is the binary named by SME_LEDGER_BIN (default
target/release/sme-ledger), started once per run on a fresh SQLite data directory, or on a
fresh PostgreSQL database when TEST_DATABASE_URL (or DATABASE_URL) names a server. The first
admin's one-time password is read from the service's standard error; other accounts are
created through the JSON API.

Every page a test visits goes through `Pages.check`: axe-core must find no violation, and a
screenshot lands in target/screenshots/.
"""

import itertools
from email import policy
from email.parser import BytesParser
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("SME_LEDGER_BIN", ROOT / "target" / "release" / "sme-ledger"))
AXE = Path(os.environ.get("AXE_JS", ROOT / "target" / "axe" / "package" / "axe.min.js"))
SHOTS = ROOT / "target" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PASSWORD = "correct horse battery staple 42"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_postgres_database(server_url):
    """A new empty database on the server of `server_url`; its URL."""
    name = "browser_" + uuid.uuid4().hex[:12]
    psql = shutil.which("psql") or str(
        Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")) / "psql"
    )
    subprocess.run([psql, server_url, "-qc", f"CREATE DATABASE {name}"], check=True)
    base = server_url.rsplit("/", 1)[0]
    return f"{base}/{name}"


class Api:
    """The JSON API, for fixtures and for checking what a page did."""

    def __init__(self, base):
        self.base = base

    def call(self, method, path, body=None, token=None, expect=(200, 201, 204)):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + "/api/v1" + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(request) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        assert status in expect, f"{method} {path}: {status} {text}"
        return json.loads(text) if text else None

    def login(self, email, password):
        return self.call("POST", "/auth/login", {"email": email, "password": password})[
            "access_token"
        ]


class Service:
    def __init__(self, base, api, admin_token, data_dir):
        self.base = base
        self.api = api
        self.admin = admin_token
        self.data_dir = Path(data_dir)
        self._numbers = itertools.count(1)

    def mailed_link(self, email, path, timeout=15):
        """The link to `path` (e.g. "/invitation") in the newest message to `email`, read
        from the `.eml` files the service writes when no SMTP server is configured."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = []
            for file in sorted((self.data_dir / "outbox").glob("*.eml"), key=os.path.getmtime):
                message = BytesParser(policy=policy.default).parsebytes(file.read_bytes())
                if email not in str(message["To"]):
                    continue
                text = message.get_body(preferencelist=("plain",)).get_content()
                match = re.search(re.escape(path) + r"\?token=[A-Za-z0-9_.-]+", text)
                if match:
                    found.append(match.group(0))
            if found:
                return found[-1]
            time.sleep(0.2)
        raise AssertionError(f"no message to {email} with a link to {path}")

    def reader(self, account):
        """An access token of `account` (signed in with PASSWORD)."""
        return self.api.login(account["email"], PASSWORD)

    def user(self, role, name=None, change_password=True):
        """A new account of `role`; with `change_password`, its first password is replaced
        through the API so the browser can sign in with PASSWORD directly."""
        n = next(self._numbers)
        email = f"{role.replace('_', '-')}{n}-{uuid.uuid4().hex[:6]}@example.org"
        first = f"first password {uuid.uuid4().hex}"
        created = self.api.call(
            "POST",
            "/users",
            {"email": email, "role": role, "password": first,
             "display_name": name or f"{role.replace('_', ' ').title()} {n}"},
            token=self.admin,
        )
        if change_password:
            token = self.api.login(email, first)
            self.api.call(
                "PUT", "/me/password",
                {"current_password": first, "new_password": PASSWORD}, token=token,
            )
        return {"id": created["id"], "email": email, "first_password": first,
                "display_name": created["display_name"]}


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def service(browser):
    assert BIN.exists(), f"no binary at {BIN}: build it or set SME_LEDGER_BIN"
    data_dir = tempfile.mkdtemp(prefix="sme-ledger-browser-")
    port = free_port()
    env = dict(os.environ)
    env.update({
        "SME_LEDGER_DATA_DIR": data_dir,
        "SME_LEDGER_BIND": f"127.0.0.1:{port}",
        "SME_LEDGER_LOG_FORMAT": "json",
    })
    env.pop("SME_LEDGER_ADMIN_PASSWORD", None)
    env.pop("SME_LEDGER_PUBLIC_URL", None)
    server = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if server and server.startswith("postgres"):
        env["DATABASE_URL"] = fresh_postgres_database(server)
    else:
        env.pop("DATABASE_URL", None)
    stderr_path = Path(data_dir) / "stderr.log"
    with open(stderr_path, "w") as stderr, open(Path(data_dir) / "stdout.log", "w") as stdout:
        process = subprocess.Popen([str(BIN), "serve"], env=env, stdout=stdout, stderr=stderr)
    base = f"http://127.0.0.1:{port}"
    api = Api(base)
    try:
        one_time = None
        for _ in range(600):
            text = stderr_path.read_text()
            match = re.search(r"one-time password: (\S+)", text)
            if match:
                one_time = match.group(1)
            try:
                urllib.request.urlopen(base + "/readyz")
                if one_time:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert process.poll() is None, f"the service stopped:\n{text}"
            time.sleep(0.1)
        assert one_time, "no one-time admin password on standard error"
        admin_token = first_admin_changes_password_in_the_browser(browser, base, one_time, api)
        yield Service(base, api, admin_token, data_dir)
    finally:
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(data_dir, ignore_errors=True)


def first_admin_changes_password_in_the_browser(browser, base, one_time, api):
    """SPEC §9: the first admin's forced password change happens in the browser."""
    context = browser.new_context(base_url=base)
    page = context.new_page()
    pages = Pages(page)
    page.goto("/")
    pages.check("sign-in")
    page.fill("#email", "admin@localhost")
    page.fill("#password", one_time)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/account/password$"))
    pages.check("forced-password-change")
    # Nothing else opens before the change.
    page.goto("/items")
    assert page.url.endswith("/account/password")
    page.fill("#current_password", one_time)
    page.fill("#new_password", PASSWORD)
    page.fill("#confirm_password", PASSWORD)
    page.click("main button[type=submit]")
    # An admin's home is the users page.
    page.wait_for_url(re.compile(re.escape(base) + r"/(users)?$"))
    assert "Your password is changed" in page.content()
    pages.check("admin-home")
    context.close()
    return api.login("admin@localhost", PASSWORD)


class Pages:
    """Checks every page a test sees: axe-core finds no violation; a screenshot is kept."""

    names = set()
    _axe = None

    @classmethod
    def axe_source(cls):
        if cls._axe is None:
            cls._axe = AXE.read_text()
        return cls._axe

    def __init__(self, page):
        self.page = page

    def check(self, name):
        page = self.page
        page.wait_for_load_state("load")
        # Evaluated through the DevTools protocol, which the page's CSP does not govern (a
        # <script> tag would be refused, as it should be).
        page.evaluate(Pages.axe_source() + "\n;undefined")
        result = page.evaluate(
            "async () => await axe.run(document, {resultTypes: ['violations']})"
        )
        violations = [
            f"{v['id']} ({v['impact']}): {v['help']} at "
            + ", ".join(str(node["target"]) for node in v["nodes"][:3])
            for v in result["violations"]
        ]
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        assert not violations, f"axe-core on {name} ({page.url}):\n" + "\n".join(violations)
        Pages.names.add(name)


@pytest.fixture
def context(browser, service):
    context = browser.new_context(base_url=service.base)
    yield context
    context.close()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture
def pages(page):
    return Pages(page)


def sign_in(page, email, password=PASSWORD):
    """Signs in afresh (whoever was signed in in this browser context before)."""
    page.context.clear_cookies()
    page.goto("/sign-in")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("main button[type=submit]")
    page.wait_for_load_state("load")
