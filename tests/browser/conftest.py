"""Playwright on the system Chromium, against the real processes, with axe-core on every page."""
import json
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "tests" / "vendor"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# CDN files and the vendored copies the browser gets instead (same bytes: SRI is checked).
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


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args, stack):
    return {**browser_context_args, "base_url": stack.url, "viewport": {"width": 1280, "height": 800}}


class AxeViolations(list):
    def describe(self):
        return json.dumps(self, indent=2)


# Runs in every document: hands a copy of the page to the test after each load and each
# htmx swap. It is synchronous in the page, so a quick next click cannot lose a snapshot.
SNAPSHOT_JS = """
(() => {
  const send = () => window.__kometSnapshot(location.href, document.documentElement.outerHTML);
  window.addEventListener('load', send);
  document.addEventListener('htmx:afterSettle', send);
})();
"""


def _isolate(page):
    page.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    for url, (name, content_type) in CDN.items():
        page.route(url, _serve_vendored(name, content_type))


def _serve_vendored(name, content_type):
    def fulfill(route):
        route.fulfill(path=VENDOR / name, headers={"Access-Control-Allow-Origin": "*"}, content_type=content_type)

    return fulfill


@pytest.fixture
def page(page, tmp_path, stack):
    """A page that can reach only this machine, gets htmx from the vendored copy of the CDN
    file (so Subresource Integrity is checked), and has everything it showed checked by
    axe-core at the end of the test: each loaded page and each htmx swap."""
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
