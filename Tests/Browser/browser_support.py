"""What the dashboard's browser tests stand on: a hub of `devtrack dev --demo-data` in a fresh folder, a headless
Chromium, and small helpers to find and fill elements. Used by dashboard_test.py."""

import hashlib
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

ROOT = Path(__file__).resolve().parents[2]
DEMO_DAYS = 365


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


class Hub:
    """`devtrack dev --demo-data` in a fresh data folder, and what its banner says."""

    def __init__(self, binary):
        self.work = Path(tempfile.mkdtemp(prefix="devtrack-browser."))
        os.chmod(self.work, 0o755)  # as root, the private PostgreSQL runs as postgres and must reach its folder
        ingest_port, api_port = free_ports(2)
        self.api = f"http://127.0.0.1:{api_port}"
        self.binary = binary
        environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BROKERS")}
        environment.update(DEVTRACK_HOME=str(ROOT), LOG_LEVEL="warning")
        self.output = open(self.work / "hub.out", "w+")  # both closed by stop()
        self.log = open(self.work / "hub.log", "w")
        self.process = subprocess.Popen(
            [binary, "dev", "--data", str(self.work / "data"), "--ingest-port", str(ingest_port), "--api-port", str(api_port),
             "--demo-data", "--demo-days", str(DEMO_DAYS)],
            stdout=self.output, stderr=self.log, env=environment)
        banner = self.wait_for(r"demo data ready", timeout=300)
        self.sign_in_link = re.search(r"(http://\S+/auth/link/\S+)", banner).group(1)
        self.token = re.search(r"API token:\s+(\S+)", banner).group(1)
        self.source_url = re.search(r"webhook source:\s+(\S+)", banner).group(1)
        self.source_secret = re.search(r"source secret:\s+(\S+)", banner).group(1)
        self.demo = json.loads((self.work / "data" / "demo-data.json").read_text())
        self.database_url = re.search(r"DATABASE_URL=(\S+)", banner).group(1)

    def cli(self, *arguments):
        """`devtrack …` as an operator runs it beside the hub: same database (the banner's DATABASE_URL), same public URL."""
        return subprocess.run(
            [self.binary, *arguments], capture_output=True, text=True, timeout=60,
            env={**os.environ, "DEVTRACK_HOME": str(ROOT), "DATABASE_URL": self.database_url,
                 "DEVTRACK_API_PUBLIC_URL": self.api})

    def new_sign_in_link(self, login="Codertocat"):
        """Another one-time link, as an operator makes one."""
        result = self.cli("users", "sign-in-link", "--login", login)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def create_user(self, login, github_id):
        """Another user, as an operator makes one: {"user_id", "token"}, the token being that user's own."""
        result = self.cli("users", "create", "--login", login, "--github-id", str(github_id))
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def post_json(self, path, body, token=None):
        request = urllib.request.Request(self.api + path, data=json.dumps(body).encode(), method="POST", headers={
            "Authorization": f"Bearer {token or self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def answer(self, method, path, token, body=None):
        """(status, JSON body) of a call with `token`, a refusal included (no exception for 4xx)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.api + path, data=data, method=method, headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def wait_for(self, pattern, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.output.seek(0)
            text = self.output.read()
            if re.search(pattern, text):
                return text
            if self.process.poll() is not None:
                raise RuntimeError(f"devtrack dev exited ({self.process.returncode}): {text[-2000:]}")
            time.sleep(0.25)
        raise TimeoutError(f"no '{pattern}' from devtrack dev within {timeout} s (see {self.work}/hub.out, hub.log)")

    def get(self, path):
        request = urllib.request.Request(self.api + path, headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def push(self, commits=1):
        """A signed push of `commits` new commits by the demo user, now, to the demo source; 202 expected."""
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        shas = [hashlib.sha1(f"browser-{time.time_ns()}-{i}".encode()).hexdigest() for i in range(commits)]
        body = json.dumps({
            "ref": "refs/heads/main", "before": "0" * 40, "after": shas[-1], "created": False, "deleted": False,
            "commits": [{"id": sha, "distinct": True, "message": "Pushed by the browser test", "timestamp": now,
                         "author": {"name": "Codertocat", "email": "c@example.com", "username": "Codertocat"}} for sha in shas],
            "repository": {"full_name": "Codertocat/hello-devtrack", "language": "Swift", "private": False},
            "sender": {"login": "Codertocat", "id": 21031067, "type": "User"}}).encode()
        signature = "sha256=" + hmac.new(self.source_secret.encode(), body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(self.source_url, data=body, method="POST", headers={
            "Content-Type": "application/json", "X-GitHub-Event": "push", "X-GitHub-Delivery": f"browser-{shas[0]}",
            "X-Hub-Signature-256": signature})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 202, response.status

    def stop(self):
        self.output.close()
        self.log.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                subprocess.run([self.binary, "postgres", "stop", "--data", str(self.work / "data")], capture_output=True)


def start_browser(width=1280, height=1000):
    options = webdriver.ChromeOptions()
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={width},{height}",
                     "--disable-gpu", "--lang=en-US"]:
        options.add_argument(argument)
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)


class Empty:
    text = ""

    def get_attribute(self, name):
        return None


def first(browser, selector):
    found = browser.find_elements(By.CSS_SELECTOR, selector)
    return found[0] if found else None


def fill_in(form, name, text):
    field = form.find_element(By.NAME, name)
    field.clear()
    field.send_keys(text)


def select(form, name, value):
    field = form.find_element(By.NAME, name)
    if field.tag_name == "select":
        Select(field).select_by_value(value)
    else:
        field.clear()
        field.send_keys(value)
