#!/usr/bin/env python3
"""Drives the sansmail web UI in headless Chromium through WebDriver.

Usage: webui.py HTTP_PORT SMTP_PORT IMAP_PORT ALICE ALICE_PASS BOB [SCREENSHOT_DIR]

Prints `label<TAB>value` lines and finally `checks N` / `failed N`; the Rust
test (server-smol/tests/webui.rs) asserts `failed 0`.
"""
import base64
import http.server
import imaplib
import json
import smtplib
import sys
import threading
import time
import urllib.request
import urllib.error
from email.message import EmailMessage

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

HTTP, SMTP, IMAP = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ALICE, ALICE_PASS, BOB = sys.argv[4], sys.argv[5], sys.argv[6]
SHOTS = sys.argv[7] if len(sys.argv) > 7 else None
BASE = f"http://127.0.0.1:{HTTP}"

checks = 0
failed = 0


def check(label, ok, detail=""):
    global checks, failed
    checks += 1
    if not ok:
        failed += 1
    print(f"{label}\t{'ok' if ok else 'FAIL ' + str(detail)}", flush=True)


# --- a bait server: any request to it means remote content was loaded -----
bait_hits = []


class Bait(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        bait_hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *a):
        pass


bait = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Bait)
BAIT = bait.server_address[1]
threading.Thread(target=bait.serve_forever, daemon=True).start()

# --- mail -------------------------------------------------------------------
ATTACHMENT = bytes(range(256)) * 37  # binary, not valid UTF-8
XSS = '<img src=x onerror="window.__pwned=1">'


def send(to, msg):
    with smtplib.SMTP("127.0.0.1", SMTP, timeout=20) as s:
        s.send_message(msg, from_addr="sender@example.org", to_addrs=[to])


def plain(subject, body, to=ALICE, sender="Sender <sender@example.org>"):
    m = EmailMessage()
    m["From"] = sender
    m["To"] = to
    m["Subject"] = subject
    m.set_content(body)
    return m


send(BOB, plain("bob-only-secret", "bob's private text"))
send(ALICE, plain("hello-text", "the text body of hello-text"))

html = plain("hello-html", "text alternative")
html.add_alternative(
    "<html><body><p id=p>html body marker</p>"
    "<script>window.__pwned=1;window.parent.__pwned=1;document.title='pwned'</script>"
    f"<img src=\"http://127.0.0.1:{BAIT}/img.png\">"
    f"<div style=\"background:url(http://127.0.0.1:{BAIT}/bg.png)\">bg</div>"
    "<a id=js href=\"javascript:window.parent.__pwned=1\">js link</a>"
    f"<form action=\"http://127.0.0.1:{BAIT}/form\" method=post><input name=a value=b></form>"
    "<img src=x onerror=\"window.parent.__pwned=1\">"
    "</body></html>",
    subtype="html",
)
send(ALICE, html)

att = plain("with-attachment", "see attached")
att.add_attachment(ATTACHMENT, maintype="application", subtype="octet-stream",
                   filename=f"{XSS}.bin")
att.add_attachment(b'<svg xmlns="http://www.w3.org/2000/svg" onload="window.__pwned=1">'
                   b'<script>window.__pwned=1</script></svg>',
                   maintype="image", subtype="svg+xml", filename="evil.svg")
send(ALICE, att)

send(ALICE, plain(XSS, "subject xss", sender=f'"<script>window.__pwned=1</script>{XSS}" <evil@example.org>'))

inner = plain("inner-message", "encapsulated <script>window.__pwned=1</script>")
outer = plain("outer-rfc822", "forwarding")
outer.add_attachment(inner)
send(ALICE, outer)

send(ALICE, plain("delete-me", "this one gets deleted"))

# A folder whose name is markup.
im = imaplib.IMAP4("127.0.0.1", IMAP)
im.login(ALICE, ALICE_PASS)
# (no "." in it: that is the Maildir++ hierarchy separator on disk)
typ, data = im.create('"<img src=x onerror=alert(1)>"')
assert typ == "OK", (typ, data)
im.logout()

# --- browser -----------------------------------------------------------------
opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-dev-shm-usage", "--window-size=1400,900"]:
    opts.add_argument(a)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
wait = WebDriverWait(driver, 10)


def pwned_anywhere():
    """The marker in the top page and in every frame."""
    driver.switch_to.default_content()
    values = [driver.execute_script("return window.__pwned === undefined ? null : window.__pwned")]
    for frame in driver.find_elements(By.TAG_NAME, "iframe"):
        try:
            driver.switch_to.frame(frame)
            values.append(driver.execute_script("return window.__pwned === undefined ? null : window.__pwned"))
        finally:
            driver.switch_to.default_content()
    try:
        driver.switch_to.alert
        values.append("alert")
    except NoAlertPresentException:
        pass
    return [v for v in values if v is not None]


def rows():
    return driver.find_elements(By.CSS_SELECTOR, "#list .row")


def row_texts():
    try:
        return [r.text for r in rows()]
    except StaleElementReferenceException:
        return ["(re-rendering)"]


def row_with(text, timeout=5):
    """The list row showing `text`; the list re-renders on live updates, so
    an element can go stale while we look at it."""
    end = time.time() + timeout
    while True:
        try:
            for r in rows():
                if text in r.text:
                    return r
        except StaleElementReferenceException:
            pass
        if time.time() >= end:
            return None
        time.sleep(0.1)


def click_row(text, timeout=5):
    """Clicks the row showing `text`; the list may re-render meanwhile."""
    end = time.time() + timeout
    while time.time() < end:
        r = row_with(text, timeout=0.5)
        if r is None:
            continue
        try:
            r.click()
            return True
        except StaleElementReferenceException:
            time.sleep(0.1)
    raise AssertionError(f"no row {text!r} to click")


def button(name):
    for b in driver.find_elements(By.CSS_SELECTOR, "button, a"):
        if b.is_displayed() and name in (b.text, b.get_attribute("title"), b.get_attribute("aria-label")):
            return b
    raise AssertionError(f"no visible button named {name}")


try:
    driver.get(BASE + "/")
    wait.until(EC.visibility_of_element_located((By.ID, "address")))
    check("login.form", driver.find_element(By.ID, "password").is_displayed())

    driver.find_element(By.ID, "address").send_keys(ALICE)
    driver.find_element(By.ID, "password").send_keys("wrong password")
    driver.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()
    try:
        wait.until(EC.visibility_of_element_located((By.ID, "login-error")))
        check("login.wrong", driver.find_element(By.ID, "login").is_displayed())
    except TimeoutException:
        check("login.wrong", False, "no error shown")

    driver.find_element(By.ID, "password").clear()
    driver.find_element(By.ID, "password").send_keys(ALICE_PASS)
    driver.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()
    wait.until(EC.visibility_of_element_located((By.ID, "list")))
    check("login.right.inbox", row_with("hello-text") is not None, row_texts())

    cookies = {c["name"]: c for c in driver.get_cookies()}
    session = next((c for c in cookies.values() if c["name"].startswith("sansmail")), None)
    check("cookie.present", session is not None, cookies)
    if session:
        check("cookie.httponly", session.get("httpOnly") is True, session)
        check("cookie.samesite", session.get("sameSite") == "Strict", session)
        check("cookie.not_readable_by_js", session["name"] not in driver.execute_script("return document.cookie"))

    check("isolation.no_bob", "bob-only-secret" not in driver.page_source)
    if SHOTS:
        driver.save_screenshot(f"{SHOTS}/webui-inbox.png")

    # Live update: delivered over SMTP, shown without reload.
    send(ALICE, plain("live-arrival", "arrived while the page was open"))
    t0 = time.time()
    r = row_with("live-arrival", timeout=5)
    check("live.appears", r is not None, f"after {time.time() - t0:.1f}s")

    # Read the text message.
    click_row("hello-text")
    wait.until(EC.visibility_of_element_located((By.ID, "m-subject")))
    time.sleep(0.3)
    driver.find_element(By.ID, "tab-text").click()
    check("read.text", "the text body of hello-text" in driver.find_element(By.ID, "pane-text").text)

    # HTML: no script, no remote request.
    click_row("hello-html")
    wait.until(EC.text_to_be_present_in_element((By.ID, "m-subject"), "hello-html"))
    time.sleep(1.0)
    frame = driver.find_element(By.ID, "m-html")
    sandbox = frame.get_attribute("sandbox")
    check("html.sandbox", sandbox is not None and "allow-scripts" not in sandbox, sandbox)
    driver.switch_to.frame(frame)
    body = driver.find_element(By.TAG_NAME, "body").text
    driver.switch_to.default_content()
    check("html.rendered", "html body marker" in body, body)
    check("html.no_script", pwned_anywhere() == [], pwned_anywhere())
    check("html.title_untouched", driver.title != "pwned", driver.title)
    time.sleep(0.5)
    check("html.no_remote_request", bait_hits == [], bait_hits)
    if SHOTS:
        driver.save_screenshot(f"{SHOTS}/webui-message.png")
    # javascript: link inside the frame does nothing harmful.
    driver.switch_to.frame(frame)
    try:
        driver.find_element(By.ID, "js").click()
    except Exception:
        pass
    driver.switch_to.default_content()
    time.sleep(0.3)
    check("html.js_link_inert", pwned_anywhere() == [], pwned_anywhere())

    # Attachments: names shown as text, bytes exact.
    click_row("with-attachment")
    wait.until(EC.text_to_be_present_in_element((By.ID, "m-subject"), "with-attachment"))
    time.sleep(0.5)
    links = driver.find_elements(By.CSS_SELECTOR, "#m-attachments a")
    names = [a.text for a in links]
    check("attachment.names_as_text", f"{XSS}.bin" in names and "evil.svg" in names, names)
    check("attachment.no_script", pwned_anywhere() == [], pwned_anywhere())
    href = next((a.get_attribute("href") for a in links if a.text.endswith(".bin")), None)
    got = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.arrayBuffer()).then(b => {"
        "  let s = ''; const u = new Uint8Array(b); for (const x of u) s += String.fromCharCode(x);"
        "  done(btoa(s)); }).catch(e => done('ERR ' + e));", href)
    check("attachment.bytes_exact", got == base64.b64encode(ATTACHMENT).decode(), (got or "")[:40])
    svg = next((a.get_attribute("href") for a in links if a.text == "evil.svg"), None)
    driver.get(svg.replace("?download=1", ""))
    time.sleep(0.5)
    check("attachment.svg_opened_directly_no_script", pwned_anywhere() == [], pwned_anywhere())
    driver.get(BASE + "/")
    wait.until(EC.visibility_of_element_located((By.ID, "list")))

    # Header XSS in the list and in the view.
    r = row_with("<img src=x")
    check("xss.subject_in_list_as_text", r is not None, row_texts())
    if r:
        click_row("<img src=x")
        time.sleep(0.5)
        check("xss.from_display_name_as_text", "<script>" in driver.find_element(By.ID, "m-from").text)
    check("xss.headers", pwned_anywhere() == [], pwned_anywhere())
    check("xss.folder_name_as_text", "<img src=x onerror=alert(1)>" in driver.find_element(By.ID, "sidebar").text,
          driver.find_element(By.ID, "sidebar").text)

    click_row("outer-rfc822")
    time.sleep(0.5)
    check("xss.rfc822_inside", pwned_anywhere() == [], pwned_anywhere())

    # Delete, then check over IMAP.
    click_row("delete-me")
    wait.until(EC.text_to_be_present_in_element((By.ID, "m-subject"), "delete-me"))
    button("Delete").click()
    end = time.time() + 5
    while time.time() < end and row_with("delete-me", timeout=0.2):
        time.sleep(0.2)
    check("delete.gone_from_list", row_with("delete-me", timeout=0.2) is None)
    im = imaplib.IMAP4("127.0.0.1", IMAP)
    im.login(ALICE, ALICE_PASS)
    im.select("INBOX")
    typ, data = im.search(None, "SUBJECT", "delete-me")
    im.logout()
    check("delete.gone_over_imap", typ == "OK" and data == [b""], data)

    # CSRF: the session cookie without the token is refused.
    first = row_with("hello-text")
    mid = first.get_attribute("data-id")
    jar = "; ".join(f"{c['name']}={c['value']}" for c in driver.get_cookies())
    for method in ["DELETE", "PATCH"]:
        req = urllib.request.Request(f"{BASE}/api/v1/messages/{mid}", method=method,
                                     data=b'{"seen":false}' if method == "PATCH" else None,
                                     headers={"Cookie": jar, "Content-Type": "application/json",
                                              "Origin": f"http://127.0.0.1:{BAIT}"})
        try:
            code = urllib.request.urlopen(req, timeout=10).status
        except urllib.error.HTTPError as e:
            code = e.code
        check(f"csrf.{method.lower()}_without_token_403", code == 403, code)
    req = urllib.request.Request(f"{BASE}/ui/logout", method="POST", headers={"Cookie": jar})
    try:
        code = urllib.request.urlopen(req, timeout=10).status
    except urllib.error.HTTPError as e:
        code = e.code
    check("csrf.logout_without_token_403", code == 403, code)
    check("csrf.message_still_there", row_with("hello-text") is not None)

    # Logout.
    button("Log out").click()
    wait.until(EC.visibility_of_element_located((By.ID, "address")))
    req = urllib.request.Request(f"{BASE}/api/v1/messages?user={ALICE}", headers={"Cookie": jar})
    try:
        code = urllib.request.urlopen(req, timeout=10).status
    except urllib.error.HTTPError as e:
        code = e.code
    check("logout.session_ended", code == 401, code)
except Exception as e:  # report, do not hide
    check("exception", False, repr(e))
finally:
    driver.quit()
    bait.shutdown()

print(f"checks\t{checks}")
print(f"failed\t{failed}")
