"""One way to ask before a change: the app's dialog (static/js/confirm.js), never the browser's."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_screen_asks_with_the_browsers_own_confirm_box():
    found = []
    for path in [*ROOT.joinpath("templates").rglob("*.html"), *ROOT.joinpath("static", "js").glob("*.js")]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "hx-confirm" in line or re.search(r"(?<![\w.-])(window\.)?confirm\(", line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "use {{ asks_first(...) }} (data-confirm) instead:\n" + "\n".join(found)
