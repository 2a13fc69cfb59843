"""Fixtures of the web console's browser tests (tests/web): a real `agentshim serve` with its
web console, a headless Chromium driven by Selenium, and the one waiting helper.

What is here:
- `server` (session): `$AGENTSHIM_BIN serve --listen 127.0.0.1:0 --web-listen 127.0.0.1:0`
  (default binary: the repository's `target/debug/agentshim`) in a private temp dir that is its
  `XDG_RUNTIME_DIR` (where it writes its generated token) and holds its `--state-dir`. Its
  config has two profiles: `bash` (a real bash with the prompt `web-test$ `) and `asker`, the
  project's fake agent (tests/bin/fake_agent.py) dressed as Claude Code with a script whose
  first message gets Claude's permission prompt for `touch approved.txt` ("Do you want to
  proceed?" 1. Yes / 2. Yes, and always allow access to work/ from this project / 3. No, as in
  tests/support/fake_questions.rs) and later ones are echoed. The gRPC address and the web
  console's URL (with its token) are parsed from the server's stdout; its stderr goes to
  `serve.log` there, shown when a test fails.
- `client` (session): the Python client (clients/python, `pip install ./clients/python`)
  connected to that server; the tests create shims and send messages with it.
- `browser` (session): Chromium (Debian's `chromium` + `chromium-driver`, the driver given
  explicitly so Selenium downloads nothing), headless, with its background networking off and
  a dead proxy for everything but loopback: it only ever talks to 127.0.0.1.
- `console` (per test): that browser logged in (through the token link) on the fleet view at
  1280x800, with helpers to open views, resize the viewport and call the JSON API with the
  browser's session cookie. When a test fails it saves `target/web-screenshots/failed-NAME.png`
  and prints the browser's console log and the server's log.
- `eventually(predicate, timeout, what)`: the only way the tests wait.

Needs: python3 with pytest, selenium and the agentshim package; chromium and chromedriver on
PATH. Run: `AGENTSHIM_BIN=$PWD/target/debug/agentshim python3 -m pytest -q tests/web`.
"""

import http.client
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("AGENTSHIM_BIN", str(REPO / "target" / "debug" / "agentshim"))
FAKE_AGENT = REPO / "tests" / "bin" / "fake_agent.py"
SCREENSHOTS = REPO / "target" / "web-screenshots"
PROMPT = "web-test$ "
# The fake agent's permission prompt, as Claude Code draws it (tests/support/fake_questions.rs).
APPROVAL_COMMAND = "touch approved.txt"
APPROVED_TEXT = "Created the file."
CLAUDE_OPTIONS = ["Yes", "Yes, and always allow access to work/ from this project", "No"]


def eventually(predicate, timeout, what):
    """Calls `predicate` until it returns something truthy (returned), for up to `timeout`
    seconds; a WebDriver error or AssertionError meanwhile counts as not yet (elements come and
    go while the page redraws). Fails naming `what` and the last value or error."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = predicate()
            if value:
                return value
            last = value
        except (WebDriverException, AssertionError) as error:
            last = error
        if time.monotonic() >= deadline:
            pytest.fail(f"not within {timeout} s: {what} (last: {last!r})")
        time.sleep(0.05)


@pytest.fixture(name="eventually", scope="session")
def eventually_fixture():
    return eventually


# ---- the server -----------------------------------------------------------------------------


def config_toml(dir):
    """The server's config: the `bash` profile and the asking fake agent `asker`."""
    work = dir / "work"
    work.mkdir()
    script = dir / "asker-script.json"
    script.write_text(json.dumps({
        "kind": "claude",
        "replies": [{"approval": {"command": APPROVAL_COMMAND}, "text": APPROVED_TEXT,
                     "delay": 0.2}],
        "default": {"text": "You said: {message}", "delay": 0.1},
    }))
    asker = ["python3", "-B", str(FAKE_AGENT), "--script", str(script),
             "--log", str(dir / "asker-messages.jsonl")]
    q = json.dumps  # a TOML basic string is a JSON string here
    return f"""
[profiles.bash]
command = ["bash", "--norc", "--noprofile", "-i"]
env = {{ PS1 = {q(PROMPT)}, HISTFILE = "/dev/null", LANG = "C.UTF-8" }}

[profiles.asker]
agent = "claude"
command = [{", ".join(q(arg) for arg in asker)}]
cwd = {q(str(work))}
env = {{ LANG = "C.UTF-8" }}
"""


class Server:
    """One `agentshim serve` with its web console. `addr`: the gRPC HOST:PORT; `url`: the web
    console's token link; `origin`: `http://127.0.0.1:PORT`; `token`: the link's token;
    `workdir`: the asker's working directory."""

    def __init__(self, dir):
        self.dir = dir
        self.workdir = dir / "work"
        (dir / "agentshim.toml").write_text(config_toml(dir))
        self.log_path = dir / "serve.log"
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [BIN, "serve", "--listen", "127.0.0.1:0", "--web-listen", "127.0.0.1:0",
             "--config", str(dir / "agentshim.toml"), "--state-dir", str(dir / "state"),
             "--shutdown-timeout", "5"],
            env={**{k: v for k, v in os.environ.items() if k != "AGENTSHIM_TOKEN"},
                 "XDG_RUNTIME_DIR": str(dir), "RUST_LOG": "agentshim=info"},
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.log, text=True,
        )
        lines = queue.Queue()
        self.stdout = []

        def drain():  # keeps reading, so the server never blocks on a full pipe
            for line in self.process.stdout:
                self.stdout.append(line)
                lines.put(line)
            lines.put(None)

        threading.Thread(target=drain, daemon=True).start()
        self.addr = self.url = None
        deadline = time.monotonic() + 60
        while self.url is None:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                self.stop()
                pytest.fail("the server printed no web console line; stdout: "
                            f"{''.join(self.stdout)!r}\nlog:\n{self.log_tail()}")
            if match := re.match(r"agentshim listening on (\S+)", line):
                self.addr = match[1]
            if match := re.match(r"agentshim web console on (http://\S+)", line):
                self.url = match[1]
        assert self.addr, f"no `agentshim listening on` line before the console's: {self.stdout}"
        parsed = urllib.parse.urlsplit(self.url)
        assert parsed.hostname == "127.0.0.1", f"the console is not on loopback: {self.url}"
        self.origin = f"{parsed.scheme}://{parsed.netloc}"
        # The session cookie is named after the port (cookies are shared across the ports of
        # one host; CONTRACT.md "Changes made by the server side").
        self.cookie_name = f"agentshim_session_{parsed.port}"
        self.token = urllib.parse.parse_qs(parsed.query)["token"][0]

    def log_tail(self, lines=60):
        if not self.log.closed:
            self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def http(self, method, path, headers=None, body=None):
        """A raw HTTP request to the web console (no redirect followed): (status, headers as
        a lower-cased dict, the headers' list, the body as text)."""
        parsed = urllib.parse.urlsplit(self.origin)
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            text = response.read().decode("utf-8", errors="replace")
            items = response.getheaders()
            return response.status, {k.lower(): v for k, v in items}, items, text
        finally:
            connection.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    dir = tmp_path_factory.mktemp("web")
    os.chmod(dir, 0o700)
    served = Server(dir)
    yield served
    served.stop()


@pytest.fixture(scope="session")
def client(server):
    """The Python client on the server's gRPC address, finding the generated token in the
    server's runtime directory as the CLI does."""
    from agentshim import Client

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_RUNTIME_DIR", str(server.dir))
        patch.delenv("AGENTSHIM_TOKEN", raising=False)
        patch.delenv("AGENTSHIM_ADDR", raising=False)
        with Client(addr=server.addr) as connected:
            yield connected


# ---- the browser ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    assert chromium and chromedriver, "chromium and chromedriver must be on PATH " \
        "(apt-get install chromium chromium-driver)"
    os.environ.setdefault("SE_AVOID_STATS", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in [
        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
        "--window-size=1280,800",
        # Nothing but loopback: no background traffic, and every other address goes to a
        # dead proxy (loopback is always reached directly).
        "--disable-background-networking", "--no-first-run", "--disable-sync",
        "--disable-component-update", "--disable-default-apps", "--disable-extensions",
        "--disable-domain-reliability", "--disable-client-side-phishing-detection",
        "--no-default-browser-check", "--proxy-server=http://127.0.0.1:9",
    ]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    yield driver
    driver.quit()


class Console:
    """The browser on the web console."""

    def __init__(self, driver, server):
        self.driver, self.server = driver, server

    # -- the page
    def css(self, selector):
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def all(self, selector):
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def text(self, selector):
        """The text of the first element matching `selector` ("" when there is none)."""
        found = self.all(selector)
        return found[0].text if found else ""

    def shown(self, selector):
        found = self.all(selector)
        return bool(found) and found[0].is_displayed()

    def click(self, selector):
        """Clicks the element, scrolled to the middle of the viewport first (the page's header
        is sticky: an element scrolled to the top edge would be under it)."""
        element = self.css(selector)
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def row(self, shim_id):
        return f'tr.shim[data-shim-id="{shim_id}"]'

    def login(self):
        """Follows the token link; it must land on the fleet view with the SSE stream live."""
        self.driver.get(self.server.url)
        eventually(lambda: self.shown("#fleet-view"), 30, "the fleet view after the token link")
        self.live()

    def live(self):
        def says_live():
            text = self.text("#connection").strip()
            assert text == "live", f"#connection says {text!r}"
            return True
        eventually(says_live, 30, "#connection says `live` (the SSE stream is open)")

    def go(self, hash):
        self.driver.execute_script("location.hash = arguments[0]", hash)

    def open_fleet(self):
        self.go("#/")
        eventually(lambda: self.shown("#fleet-view") and not self.shown("#agent-view"), 30,
                   "the fleet view shown (and not the agent view)")

    def open_agent(self, shim_id):
        self.go(f"#/shims/{shim_id}")
        self.wait_agent(shim_id)

    def wait_agent(self, shim_id):
        eventually(
            lambda: self.shown("#agent-view")
            and self.css("#agent-view").get_attribute("data-shim-id") == shim_id
            and self.text("#agent-title").strip() == shim_id
            and not self.shown("#fleet-view"),
            30, f"the agent view of {shim_id} (#agent-view[data-shim-id], #agent-title)")

    def viewport(self, width, height, mobile=False):
        """Sets the viewport to exactly `width`x`height` CSS pixels (a phone's with `mobile`:
        touch and the page's meta viewport honoured)."""
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
        self.driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": mobile})
        # A phone's layout viewport is the page's business (its meta viewport): the test
        # checks innerWidth itself. The emulated screen is this size at once.
        size = "[screen.width, screen.height]" if mobile else "[innerWidth, innerHeight]"
        eventually(lambda: self.driver.execute_script(f"return {size}") == [width, height],
                   10, f"the emulated {'screen' if mobile else 'viewport'} is {width}x{height}")

    # -- the JSON API with the browser's session
    def cookie(self):
        name = self.server.cookie_name
        cookie = self.driver.get_cookie(name)
        assert cookie, f"no {name} cookie: {self.driver.get_cookies()}"
        return cookie["value"]

    def api(self, path):
        """GET `path` with the browser's session cookie; the JSON body (status 200 asserted)."""
        status, _, _, body = self.server.http(
            "GET", path, headers={"Cookie": f"{self.server.cookie_name}={self.cookie()}"})
        assert status == 200, f"GET {path}: {status} {body}"
        return json.loads(body)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def console(request, browser, server):
    """The browser logged in on the fleet view at 1280x800."""
    page = Console(browser, server)
    browser.get_log("browser")  # what earlier tests logged is theirs
    try:
        page.viewport(1280, 800)
        page.login()
    except BaseException:
        diagnose(request.node.name, browser, server)
        raise
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        diagnose(request.node.name, browser, server)
    page.viewport(1280, 800)


def diagnose(name, browser, server):
    """What a failed test leaves: a screenshot, the browser's console, the server's log."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / f"failed-{name}.png"
    try:
        browser.get_screenshot_as_file(str(shot))
        logs = "\n".join(f"  {entry['level']} {entry['message']}"
                         for entry in browser.get_log("browser"))
        url = browser.current_url
    except WebDriverException as error:
        logs, url = f"  (the browser did not answer: {error})", "?"
    print(f"\n--- {name} failed at {url}; screenshot {shot}")
    print(f"--- the browser's console:\n{logs}")
    print(f"--- the server's log (tail):\n{server.log_tail()}")
