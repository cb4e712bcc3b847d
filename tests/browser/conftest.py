"""Playwright on the system Chromium, against the real processes, with axe-core on every page."""
import json
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "tests" / "vendor"  # test-only files (axe-core)
STATIC_VENDOR = ROOT / "static" / "vendor"  # the app's own copies of its CDN files
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# CDN files and the app's vendored copies the browser gets instead (same bytes: SRI is checked).
CDN = {
    "https://cdn.jsdelivr.net/npm/htmx.org@2.0.11/dist/htmx.min.js": ("htmx-2.0.11.min.js", "application/javascript"),
    "https://cdn.jsdelivr.net/npm/trix@2.1.19/dist/trix.umd.min.js": ("trix-2.1.19.umd.min.js", "application/javascript"),
    "https://cdn.jsdelivr.net/npm/trix@2.1.19/dist/trix.css": ("trix-2.1.19.css", "text/css"),
}
# Committed screenshots change only when asked to (make screenshots); otherwise they go to tmp.
SCREENSHOTS = ROOT / "docs" / "screenshots" if os.environ.get("UPDATE_SCREENSHOTS") else None
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: run `apt-get install chromium` or set CHROMIUM=/path")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"],
    }


@pytest.fixture(scope="package")
def stack(app, smtp_sink, tmp_path_factory):
    """The browser tests' own web and worker processes, stopped once the browser tests are done:
    later real-process tests (heartbeats, a stopped worker) must see only the processes they
    start, not a worker left running from here."""
    from tests.stack import Stack

    yield from Stack.web_and_worker(app, smtp_sink, tmp_path_factory.mktemp("browser-stack"))


@pytest.fixture(scope="package")
def browser_context_args(browser_context_args, stack):
    return {**browser_context_args, "base_url": stack.url, "viewport": {"width": 1280, "height": 800}}


class AxeViolations(list):
    def describe(self):
        return json.dumps(self, indent=2)


# Runs in every document: hands a copy of the page to the test after each load and each htmx
# swap (synchronously, so a quick next click cannot lose a snapshot), and shortly after each
# in-page change worth checking.
SNAPSHOT_JS = """
(() => {
  const send = () => window.__kometSnapshot(location.href, document.documentElement.outerHTML);
  window.addEventListener('load', send);
  document.addEventListener('htmx:afterSettle', send);
  // In-page changes too: a menu or a dialog opening, an image added in the editor.
  let later;
  const soon = () => { clearTimeout(later); later = setTimeout(send, 300); };
  document.addEventListener('toggle', soon, true);
  document.addEventListener('trix-attachment-add', soon);
  document.addEventListener('trix-change', soon);
})();
"""


# Runs in every document and frame: reports each Content-Security-Policy violation.
CSP_JS = """
document.addEventListener('securitypolicyviolation', (e) => window.__kometCspViolation(
  `${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} in ${e.documentURI} (${e.sourceFile}:${e.lineNumber})`));
"""


def _watch_csp(context, violations):
    """Collect every Content-Security-Policy violation of `context`'s pages into `violations`:
    the browser's console message (also with JavaScript off) and the page's event, which says
    where it happened."""
    context.expose_function("__kometCspViolation", lambda text: violations.append(text))
    context.add_init_script(CSP_JS)
    context.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))
    return context


@pytest.fixture(autouse=True)
def csp_violations(browser, monkeypatch):
    """Every browser test fails on a Content-Security-Policy violation in any page it opened, in
    the `page` fixture's context or one it made itself (without JavaScript, say): the policy
    refuses what it blocks silently, so a style or script that should apply does not."""
    violations = []
    new_context, new_page = browser.new_context, browser.new_page
    monkeypatch.setattr(browser, "new_context", lambda *args, **kwargs: _watch_csp(new_context(*args, **kwargs), violations))

    def watched_page(*args, **kwargs):
        page = new_page(*args, **kwargs)
        _watch_csp(page.context, violations)
        return page

    monkeypatch.setattr(browser, "new_page", watched_page)
    yield violations
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


def _isolate(page):
    page.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    for url, (name, content_type) in CDN.items():
        page.route(url, _serve_vendored(STATIC_VENDOR / name, content_type))
    # axe-core as a same-origin file, so a page's Content-Security-Policy lets the test load it.
    page.route(re.compile(r"^http://127\.0\.0\.1:\d+/__test__/axe\.js$"),
               _serve_vendored(VENDOR / "axe-4.14.1.min.js", "application/javascript"))


def _serve_vendored(path, content_type):
    def fulfill(route):
        route.fulfill(path=path, headers={"Access-Control-Allow-Origin": "*"}, content_type=content_type)

    return fulfill


@pytest.fixture
def page(page, tmp_path, stack):
    """A page that can reach only this machine, gets htmx from the vendored copy of the CDN
    file (so Subresource Integrity is checked), and has everything it showed checked by
    axe-core at the end of the test: each loaded page and each htmx swap. (Content-Security-
    Policy violations fail every browser test: `csp_violations`.)"""
    snapshots = {}
    page.expose_function("__kometSnapshot", lambda url, html: snapshots.setdefault((url, html), None))
    page.add_init_script(SNAPSHOT_JS)
    _isolate(page)
    page.screenshot_dir = SCREENSHOTS or tmp_path
    yield page
    violations = AxeViolations(check_snapshots(page.context, stack.url, list(snapshots)))
    assert snapshots, "no page was checked for accessibility"
    assert not violations, f"accessibility violations (WCAG 2.2 AA):\n{violations.describe()}"


def check_snapshots(context, base_url, snapshots):
    """Replay each snapshot, with the app's styles, in a page of its own and run axe-core on it."""
    checker = context.new_page()
    _isolate(checker)
    found = []
    for url, html in snapshots:
        checker.set_content(html.replace("<head>", f'<head><base href="{base_url}/">', 1), wait_until="load")
        found += axe_violations(checker, url)
    checker.close()
    return found


def axe_violations(page, label=None):
    """Run axe-core on what `page` shows now; a list of violations, each with where it is."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        if page.url.startswith("http"):
            page.add_script_tag(url=page.evaluate("location.origin") + "/__test__/axe.js")
        else:  # a snapshot replayed in about:blank: no policy applies
            page.add_script_tag(path=VENDOR / "axe-4.14.1.min.js")
    results = page.evaluate("(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
    return [{"page": label or page.url, "rule": v["id"], "help": v["help"],
             "where": [n["target"] for n in v["nodes"]][:5]} for v in results["violations"]]


def shot(page, name):
    """Save a screenshot of the page (for the README when UPDATE_SCREENSHOTS is set)."""
    page.screenshot(path=str(Path(page.screenshot_dir) / f"{name}.png"), full_page=True)


@pytest.fixture
def demo(app):
    """The demo data `make run` loads, so screenshots show what a developer sees."""
    from komet.demo import load_demo_data
    from komet.extensions import db

    with app.app_context():
        load_demo_data()
        db.session.remove()
