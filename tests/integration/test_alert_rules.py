"""The shipped alert rules are valid and only name metrics the app really exports."""
import os
import re
import shutil
import subprocess

import pytest

from komet.ops import heartbeats
from tests.stack import ROOT

RULES = ROOT / "ops" / "prometheus" / "komet.rules.yml"
RULES_TESTS = ROOT / "ops" / "prometheus" / "komet.rules.test.yml"


def _promtool():
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("REQUIRE_PROMTOOL"):  # .ci/run installs it: a skip there would hide a bad file
            pytest.fail("promtool is required here but not installed (Debian: apt-get install prometheus)")
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")
    return promtool


def test_promtool_accepts_the_rules():
    result = subprocess.run([_promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_stopped_process_alerts_within_a_minute_and_a_healthy_stack_never():
    # komet.rules.test.yml: one stale worker beside a fresh one fires for that worker only; a
    # role with no process (the +Inf series) fires too; a worker that stops fires 45 s later
    # (15-s scrapes); an hour idle and a busy stack fire nothing; a database away fires its own.
    result = subprocess.run([_promtool(), "test", "rules", str(RULES_TESTS)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def _expressions():
    # No YAML library in the app's dependencies: the rules file keeps each expr a plain
    # scalar or a `|` block, which this reads.
    text = RULES.read_text()
    exprs = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        match = re.match(r"^(\s*)expr:\s*(.*)$", line)
        if not match:
            continue
        indent, value = len(match.group(1)), match.group(2)
        if value.strip() == "|":
            block = []
            for follower in lines[i + 1:]:
                if follower.strip() and len(follower) - len(follower.lstrip()) <= indent:
                    break
                block.append(follower.strip())
            value = " ".join(block)
        exprs.append(value)
    return exprs


def test_every_alert_names_metrics_the_app_exports(app, client):
    client.get("/login")  # one request, so the request counter has a series
    with app.app_context():
        heartbeats.beat(heartbeats.WORKER)  # a process, so the per-process gauges have a series
    exported = client.get("/metrics").get_data(as_text=True)
    exprs = _expressions()
    assert len(exprs) == 6
    for expr in exprs:
        names = set(re.findall(r"\bkomet_[a-z_]+\b", expr))
        assert names, expr
        for name in names:
            assert re.search(rf"^{name}[{{ ]", exported, re.M), f"{name} (in {expr!r}) is not exported"


def test_the_thresholds_are_the_agreed_ones():
    exprs = " ".join(_expressions())
    # Past 240 s for the rule's 1 minute: it fires when the oldest email is 5 minutes old.
    assert "komet_email_oldest_unsent_age_seconds) > 240" in exprs
    assert "komet_email_smtp_failing_seconds) > 45" in exprs  # SMTP refusing or silent: fires within 2 minutes
    assert re.search(r"KometEmailStuck(?:(?!alert:).)*for: 1m", RULES.read_text(), re.S)
    # Six missed 5-s beats: named on the page at 30 s, alerting within a minute (15-s scrapes).
    assert 'komet_heartbeat_age_seconds{process="worker"}) > 30' in exprs
    assert 'komet_heartbeat_age_seconds{process="scheduler"}) > 30' in exprs
    assert "> 0.01" in exprs
