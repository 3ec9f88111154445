#!/usr/bin/env python3
"""The web dashboard in a real browser: headless Chromium driven by selenium, against `devtrack dev --demo-data`.

Usage: Tests/Browser/dashboard_test.py [path/to/devtrack]   (scripts/browser-tests runs it; scripts/test runs that)

One hub for the whole run (private PostgreSQL, mock Kafka, every role), filled with a year of demo activity through
the real pipeline; the demo writes what it sent, day by day, to demo-data.json, and the tests compare the pages with
it. In order: sign in with the banner's one-time link; the overview's numbers equal the demo's; every page draws
without a console error, in light and dark, at desktop and phone width (screenshots in
.build/test-artifacts/dashboard/); a goal made in the form appears; a signed webhook sent from here moves the commit
count and brings a notification with no reload; a new time zone moves the calendar; signing out ends the session; an
export made on Settings downloads whole (its end line's counts are the page's); a second user, made with the CLI,
deletes their account on Settings and its sign-in stops working (the demo user is left alone).
Throughout, the Content-Security-Policy holds (no console error, no violation) and the browser asks no other origin.
Prints the first load's size (asserted under 150 KB) and the time to a drawn calendar (a figure, not asserted).
"""

import json
import sys
import time
import unittest
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from browser_support import DEMO_DAYS, ROOT, Empty, Hub, fill_in, first, select, start_browser

ARTIFACTS = ROOT / ".build" / "test-artifacts" / "dashboard"
BUDGET_BYTES = 150_000
WAIT = 20


class DashboardTests(unittest.TestCase):
    hub = None
    browser = None

    @classmethod
    def setUpClass(cls):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        cls.hub = Hub(BINARY)
        cls.browser = start_browser()

    @classmethod
    def tearDownClass(cls):
        if cls.browser:
            cls.browser.quit()
        if cls.hub:
            cls.hub.stop()

    # Helpers

    def wait(self, condition, message, timeout=WAIT):
        """Until `condition(browser)` is truthy; fails with `message` (and a screenshot) otherwise."""
        try:
            return WebDriverWait(self.browser, timeout, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException]).until(
                lambda browser: condition(browser))
        except Exception as error:
            self.shot("failure")
            raise AssertionError(f"{message} (within {timeout} s; screenshot failure.png)") from error

    def element(self, selector, timeout=WAIT):
        return self.wait(lambda browser: first(browser, selector), f"no element {selector}", timeout)

    def value(self, selector):
        """An element's data-value, read in one step in the page (live updates replace elements at any time)."""
        self.element(selector)
        text = self.browser.execute_script("return document.querySelector(arguments[0])?.dataset.value ?? null", selector)
        self.assertIsNotNone(text, f"{selector} has no data-value")
        return int(float(text))

    def shot(self, name):
        self.browser.save_screenshot(str(ARTIFACTS / f"{name}.png"))

    def open(self, path):
        """Moves within the page as a person would (a link in the navigation), or loads it when no link leads there."""
        links = self.browser.find_elements(By.CSS_SELECTOR, f'#nav a[href="{path}"]')
        if links:
            links[0].click()
        else:
            self.browser.get(self.hub.api + path)
        self.wait(lambda browser: browser.execute_script("return location.pathname") == path.split("?")[0], f"not on {path}")

    def assert_clean(self, allowed=()):
        """No console error and no CSP violation since the last check; every request went to the hub itself."""
        problems = [entry["message"] for entry in self.browser.get_log("browser")
                    if entry["level"] == "SEVERE" and not any(text in entry["message"] for text in allowed)]
        self.assertEqual(problems, [], "console errors")
        for entry in self.browser.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                url = message["params"]["request"]["url"]
                self.assertTrue(url.startswith(self.hub.api) or url.startswith("data:"), f"a request to another origin: {url}")

    def sign_in(self):
        """Signed in already (the tests run in order), or through a link the CLI makes (a test run on its own)."""
        self.browser.get(self.hub.api + "/")
        self.wait(lambda browser: first(browser, "#sign-out") or browser.execute_script("return location.pathname") == "/sign-in",
                  "neither signed in nor on the sign-in page")
        if not first(self.browser, "#sign-out"):
            self.browser.get(self.hub.new_sign_in_link())
            self.element("#sign-out")
        self.browser.get_log("browser")  # the 401 of the signed-out check is expected

    def demo_sum(self, field, start, end):
        return sum(day.get(field, 0) for when, day in self.hub.demo["days"].items() if start <= when <= end)

    # The tests, in order (unittest sorts them by name)

    def test_1_sign_in_with_the_one_time_link_and_see_the_demo_numbers(self):
        self.browser.get(self.hub.sign_in_link)
        self.wait(lambda browser: browser.execute_script("return location.pathname") == "/", "the link did not lead to the overview")
        today = datetime.now(timezone.utc).date().isoformat()
        self.assertEqual(self.element("#overview-today").get_attribute("data-date"), today)
        self.element("#overview-calendar svg.calendar")
        monday = (datetime.fromisoformat(today) - timedelta(days=datetime.fromisoformat(today).weekday())).date().isoformat()
        periods = {"today": today, "week": monday, "month": today[:8] + "01"}
        for period, start in periods.items():
            for field in ["commits", "prs_opened", "prs_merged", "reviews", "issues_opened", "coding_seconds"]:
                with self.subTest(period=period, field=field):
                    self.assertEqual(self.value(f'[data-period="{period}"] [data-field="{field}"]'), self.demo_sum(field, start, today))
        year_start = (datetime.fromisoformat(today) - timedelta(days=364)).date().isoformat()
        contributions = sum(self.demo_sum(field, year_start, today) for field in ["commits", "prs_opened", "reviews", "issues_opened"])
        self.assertEqual(self.value("#calendar-total"), contributions)
        cells = self.browser.find_elements(By.CSS_SELECTOR, "svg.calendar rect.day")
        self.assertEqual(len(cells), 365)
        self.assertEqual(cells[-1].get_attribute("data-date"), today)
        # The demo is active every one of its last 12 days (and every day it has data for counts as active).
        active = set(self.hub.demo["days"])
        streak, day = 0, datetime.fromisoformat(today).date()
        if day.isoformat() not in active:
            day -= timedelta(days=1)
        while day.isoformat() in active:
            streak, day = streak + 1, day - timedelta(days=1)
        self.assertGreaterEqual(streak, 12)
        self.assertEqual(self.value("#streak-current"), streak)
        self.assertEqual(len(self.browser.find_elements(By.CSS_SELECTOR, "#overview-goals [data-goal-id]")), 3)
        self.shot("overview")
        self.assert_clean()

    def test_2_first_load_budget(self):
        self.sign_in()
        self.browser.get(self.hub.api + "/")
        self.element("#overview-calendar svg.calendar")
        entries = self.browser.execute_script("""
            const files = [location.href, ...performance.getEntriesByType('resource').map(entry => entry.name)
              .filter(name => !new URL(name).pathname.startsWith('/api/'))];
            const calendar = performance.getEntriesByName('calendar-rendered')[0];
            return {files, calendar: calendar ? calendar.startTime : null};""")
        # Sizes as served (the browser's own figures are 0 for files it revalidated with a 304).
        sizes = {}
        for url in entries["files"]:
            with urllib.request.urlopen(url, timeout=10) as response:
                sizes[url] = len(response.read())
        total = sum(sizes.values())
        print(f"\nfirst load of the overview: {total:,} bytes of HTML, CSS, JavaScript and icon in {len(sizes)} files; "
              f"calendar drawn {entries['calendar']:.0f} ms after navigation ({DEMO_DAYS} days of data)", file=sys.stderr)
        self.assertLess(total, BUDGET_BYTES)
        self.assertIsNotNone(entries["calendar"])
        self.assert_clean()

    def test_3_every_page_draws_cleanly_in_light_and_dark(self):
        self.sign_in()
        pages = {"coding": "/coding", "goals": "/goals", "notifications": "/notifications", "settings": "/settings",
                 "leaderboard": "/leaderboard", "profile": "/u/Codertocat"}
        for name, path in pages.items():
            with self.subTest(page=name):
                self.open(path)
                self.element(f"#page-{name}")
                self.wait(lambda browser: not first(browser, f"#page-{name} .loading"), f"{name} still loading")
                errors = [error.text for error in self.browser.find_elements(By.CSS_SELECTOR, f"#page-{name} .error") if error.is_displayed()]
                self.assertEqual(errors, [], f"{name} shows an error")
                self.shot(name)
                self.assert_clean()
        # The public pages show the demo user, who made the profile public and joined the board. Scores are the
        # scheduler's work (a tick a minute): wait for the API to list the user, then look at the page.
        deadline = time.monotonic() + 150
        while self.hub.get("/api/v1/leaderboard?metric=commits&period=week").get("me") is None:
            self.assertLess(time.monotonic(), deadline, "the demo user is not on the leaderboard after 150 s")
            time.sleep(1)
        self.open("/leaderboard")
        row = self.element('#leaderboard-table tr[data-login="Codertocat"]')
        self.assertEqual(row.get_attribute("data-rank"), "1")
        week = (datetime.now(timezone.utc).date() - timedelta(days=6)).isoformat()
        self.assertEqual(int(row.get_attribute("data-value")), self.demo_sum("commits", week, "9999-12-31"))
        self.open("/u/Codertocat")
        self.element("#profile-summary")
        self.wait(lambda browser: all(image.get_attribute("naturalWidth") not in (None, "0")
                                      for image in browser.find_elements(By.CSS_SELECTOR, "#profile-cards img")),
                  "a card image did not load")
        self.open("/")
        self.element("#theme-toggle").click()
        self.wait(lambda browser: browser.execute_script("return document.documentElement.dataset.theme") == "dark", "no dark theme")
        self.element("#overview-calendar svg.calendar")
        self.shot("overview-dark")
        self.element("#theme-toggle").click()
        self.browser.set_window_size(390, 900)
        try:
            self.browser.get(self.hub.api + "/")
            self.element("#overview-calendar svg.calendar")
            self.shot("overview-phone")
            for name, path in {"overview": "/", **pages}.items():
                with self.subTest(page=name, width=390):
                    self.open(path)
                    self.element(f"#page-{name}")
                    self.wait(lambda browser: not first(browser, f"#page-{name} .loading"), f"{name} still loading")
                    width = self.browser.execute_script("return document.documentElement.scrollWidth")
                    self.assertLessEqual(width, 390, f"{name} is wider than a phone: {width} px")
            self.shot("settings-phone")
        finally:
            self.browser.set_window_size(1280, 1000)
        self.assert_clean()

    def test_4_create_a_goal_and_see_it(self):
        self.sign_in()
        self.open("/goals")
        form = self.element("#goal-form")
        today_commits = self.hub.get("/api/v1/metrics/summary?from={0}&to={0}".format(
            datetime.now(timezone.utc).date().isoformat()))["commits"]
        title = "One more commit today"
        # An invalid target first: the API's message appears next to the form, and nothing is lost.
        fill_in(form, "title", title)
        fill_in(form, "target", "0")
        select(form, "unit", "commits")
        select(form, "period", "daily")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.wait(lambda browser: "target" in (first(browser, "#goal-form .error, #goal-form .field-error") or Empty()).text,
                  "no validation message naming the target")
        self.assertEqual(form.find_element(By.NAME, "title").get_attribute("value"), title)
        fill_in(form, "target", str(today_commits + 1))
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        goal = self.wait(lambda browser: next((item for item in browser.find_elements(By.CSS_SELECTOR, "#goals-list [data-goal-id]")
                                               if title in item.text), None), "the new goal is not listed")
        self.assertEqual(int(goal.get_attribute("data-target")), today_commits + 1)
        self.assertEqual(int(goal.get_attribute("data-current")), today_commits)
        self.shot("goals-created")
        self.assert_clean(allowed=["400 (Bad Request)"])

    def test_5_a_webhook_moves_the_numbers_and_brings_a_notification_without_reload(self):
        self.sign_in()
        today = datetime.now(timezone.utc).date().isoformat()
        commits = self.hub.get(f"/api/v1/metrics/summary?from={today}&to={today}")["commits"]
        goal = "The next commit, live"
        self.hub.post_json("/api/v1/goals", {"title": goal, "target": commits + 1, "unit": "commits", "period": "daily"})
        self.open("/")
        before = self.value('[data-period="today"] [data-field="commits"]')
        self.assertEqual(before, commits)
        unread = int(first(self.browser, "#unread-count").text) if first(self.browser, "#unread-count") else 0
        self.wait(lambda browser: browser.execute_script("return document.documentElement.dataset.live") == "open", "no live stream")
        self.browser.execute_script("window.notReloaded = true")
        self.hub.push(commits=1)
        self.wait(lambda browser: self.value('[data-period="today"] [data-field="commits"]') == before + 1,
                  f"today's commits did not move from {before} to {before + 1}")
        # The push completes the goal: its notification arrives by the stream.
        self.wait(lambda browser: first(browser, "#unread-count") and int(first(browser, "#unread-count").text) > unread,
                  "the unread count did not grow")
        self.wait(lambda browser: any(goal in toast.text for toast in browser.find_elements(By.CSS_SELECTOR, ".toast")),
                  "no toast for the completed goal")
        self.assertTrue(self.browser.execute_script("return window.notReloaded === true"), "the page was reloaded")
        self.shot("live-update")
        self.open("/notifications")
        self.wait(lambda browser: any(goal in item.text for item in
                                      browser.find_elements(By.CSS_SELECTOR, "#notifications-list [data-notification-id]")),
                  "the notification is not in the list")
        self.assert_clean()

    def test_6_a_new_time_zone_moves_the_calendar(self):
        self.sign_in()
        now = datetime.now(timezone.utc)
        # A zone whose date differs from UTC's right now: UTC+14 is a day ahead from 10:00 UTC, UTC-11 a day behind
        # until 11:00 UTC, so at every hour one of the two is on another date.
        zone = next(zone for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago")
                    if now.astimezone(ZoneInfo(zone)).date() != now.date())
        expected_today = now.astimezone(ZoneInfo(zone)).date().isoformat()
        self.open("/settings")
        field = self.element("#timezone")
        if field.tag_name == "select":
            Select(field).select_by_value(zone)
        else:
            field.clear()
            field.send_keys(zone)
        self.element("#save-profile").click()
        self.wait(lambda browser: self.hub.get("/api/v1/me")["timezone"] == zone, "the zone was not saved")
        self.open("/")
        self.wait(lambda browser: (first(browser, "#overview-today") or Empty()).get_attribute("data-date") == expected_today,
                  f"the overview's today is not {expected_today}")
        self.wait(lambda browser: (first(browser, "svg.calendar rect.day:last-of-type") or Empty()).get_attribute("data-date") == expected_today,
                  f"the calendar does not end on {expected_today}")
        cells = self.browser.find_elements(By.CSS_SELECTOR, "svg.calendar rect.day")
        start = (datetime.fromisoformat(expected_today) - timedelta(days=364)).date().isoformat()
        server = self.hub.get(f"/api/v1/metrics/daily?from={start}&to={expected_today}")
        self.assertEqual(server["timezone"], zone)
        self.assertEqual(self.hub.get("/api/v1/metrics/summary")["to"], expected_today, "the server's today in the zone")
        by_date = {day["date"]: day["commits"] + day["prs_opened"] + day["reviews"] + day["issues_opened"] for day in server["days"]}
        shown = {cell.get_attribute("data-date"): int(cell.get_attribute("data-count")) for cell in cells}
        self.assertEqual(shown, by_date)
        self.shot("overview-moved-zone")
        self.assert_clean()

    def test_7_sign_out_ends_the_session(self):
        self.sign_in()
        self.open("/")
        self.element("#sign-out").click()
        self.wait(lambda browser: browser.execute_script("return location.pathname") == "/sign-in", "not on the sign-in page")
        self.browser.get(self.hub.api + "/settings")
        self.wait(lambda browser: browser.execute_script("return location.pathname") == "/sign-in", "settings open without a session")
        self.shot("sign-in")
        self.browser.get(self.hub.sign_in_link)
        self.element("#sign-in-error")  # the link worked once
        self.assert_clean(allowed=["401 (Unauthorized)"])

    def test_8_export_my_data_and_download_it_whole(self):
        self.sign_in()
        self.open("/settings")
        self.element("#export-data").click()
        link = self.element("#export-download", timeout=60)
        self.assertIsNotNone(link.get_attribute("download"), "the link is not a download")
        self.assertRegex(link.get_attribute("href"), r"/api/v1/export/[0-9a-f-]{36}/download$")
        self.assertIn("The link works until", self.element("#export-result").text)
        # What the page listed, in its order: [section, rows, the text shown].
        listed = self.browser.execute_script("""return [...document.querySelectorAll('#export-rows [data-section]')]
            .map(item => [item.dataset.section, Number(item.dataset.rows), item.textContent])""")
        rows = {section: count for section, count, _ in listed}
        self.assertEqual(len(rows), len(listed), "a section listed twice")
        for section, count, text in listed:
            self.assertEqual(text, f"{count:,} {section.replace('_', ' ')}")
        self.assertGreater(rows.get("facts", 0), 0, f"the demo user's export has no facts: {rows}")
        self.browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)
        self.shot("settings-export")
        # The download, fetched by the page with its session; read there, so that only the parts cross to the test.
        self.browser.set_script_timeout(120)
        got = self.browser.execute_async_script("""
            const done = arguments[arguments.length - 1];
            fetch(arguments[0], {credentials: 'same-origin'}).then(async response => {
              const lines = (await response.text()).replace(/\\n$/, '').split('\\n');
              const parse = line => { try { return JSON.parse(line); } catch { return undefined; } };
              const middle = lines.slice(1, -1);
              const types = {};
              for (const line of middle) { const type = String(parse(line)?.type); types[type] = (types[type] ?? 0) + 1; }
              done({status: response.status, count: lines.length, first: parse(lines[0]), last: parse(lines.at(-1)),
                    middle: middle.length, unparsed: middle.filter(line => typeof parse(line) !== 'object').length, types});
            }).catch(error => done({status: 0, error: String(error)}));""", link.get_attribute("href"))
        self.assertEqual(got["status"], 200, got)
        self.assertGreaterEqual(got["count"], 2, "no first and last line")
        self.assertIsInstance(got["first"], dict, "the first line is not a JSON object")
        self.assertNotEqual(got["first"].get("type"), "end", "the first line is the end line")
        self.assertIsInstance(got["last"], dict, "the last line is not a JSON object: the download was cut off")
        self.assertEqual(got["last"].get("type"), "end", f"the last line is not the end line: {got['last']}")
        self.assertEqual(got["last"].get("rows"), rows, "the end line's counts are not the ones the page listed")
        self.assertEqual(got["unparsed"], 0, "lines that are not JSON objects")
        self.assertEqual(got["middle"], sum(rows.values()), f"lines between the first and the last, by type: {got['types']}")
        self.assert_clean()

    def test_9_delete_an_account_through_the_page(self):
        # A user of its own: the demo user, whom every other test reads, stays.
        login = "Octoleaver"
        made = self.hub.create_user(login, github_id=990_000_001)
        self.hub.post_json("/api/v1/goals", {"title": "Something to delete", "target": 3, "unit": "commits", "period": "daily"},
                           token=made["token"])
        # A wrong confirmation is refused by the API, and nothing goes.
        status, body = self.hub.answer("DELETE", "/api/v1/me", made["token"], {"confirm_login": "Codertocat"})
        self.assertEqual((status, body["error"]["code"]), (400, "confirmation_mismatch"), body)
        self.assertIn("confirm_login", body["error"]["message"])
        self.assertEqual(self.hub.answer("GET", "/api/v1/me", made["token"])[0], 200)
        # A fresh cookie state, signed in as that user.
        self.browser.get(self.hub.api + "/sign-in")
        self.browser.delete_all_cookies()
        self.browser.get(self.hub.new_sign_in_link(login))
        self.wait(lambda browser: (first(browser, "#account .who") or Empty()).text == login, f"not signed in as {login}")
        session = self.browser.get_cookie("devtrack_session")
        self.assertIsNotNone(session, "no session cookie")
        self.open("/settings")
        field = self.element("#confirm-login")
        button = self.element("#delete-account")
        self.assertIn(f"({login})", self.element("#delete-account-form label").text)
        self.assertFalse(button.is_enabled(), "deleting is possible before the login is typed")
        field.send_keys("Codertocat")
        self.assertFalse(button.is_enabled(), "another login enables deleting")
        field.clear()
        field.send_keys(login.lower())  # the login in any case
        self.wait(lambda browser: button.is_enabled(), "typing the login does not enable deleting")
        self.browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
        self.shot("settings-delete")
        button.click()
        self.wait(lambda browser: browser.execute_script("return location.pathname + location.search") == "/sign-in?deleted=1",
                  "not on /sign-in?deleted=1 after deleting")
        self.assertEqual(self.element("#sign-in-deleted").text, "Your account and its data were deleted.")
        self.assertFalse((self.browser.get_cookie("devtrack_session") or {}).get("value"), "the session cookie stays")
        self.shot("sign-in-deleted")
        # The old session, sent again, is refused: the hub ended it, not just the browser's cookie.
        self.browser.add_cookie({key: session[key] for key in ("name", "value", "path", "httpOnly", "sameSite") if key in session})
        status = self.browser.execute_async_script("""const done = arguments[arguments.length - 1];
            fetch('/api/v1/me', {credentials: 'same-origin'}).then(response => done(response.status), error => done(String(error)));""")
        self.assertEqual(status, 401, "the deleted user's session still answers")
        self.browser.get(self.hub.api + "/settings")
        self.wait(lambda browser: browser.execute_script("return location.pathname") == "/sign-in", "settings open for a deleted user")
        self.assertEqual(self.hub.answer("GET", "/api/v1/me", made["token"])[0], 401, "the deleted user's API token still works")
        link = self.hub.cli("users", "sign-in-link", "--login", login)
        self.assertNotEqual(link.returncode, 0, "the CLI still finds the deleted user")
        self.assertEqual(self.hub.get("/api/v1/me")["login"], "Codertocat", "the demo user went too")
        self.browser.delete_all_cookies()
        self.assert_clean(allowed=["401 (Unauthorized)"])


BINARY = str(Path(sys.argv.pop(1)).resolve()) if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else str(ROOT / ".build/debug/devtrack")

if __name__ == "__main__":
    unittest.main(verbosity=2)
