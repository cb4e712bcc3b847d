"""Done when: with the shipped timings (a beat every 5 s, stuck after 30 s), a worker that is
SIGSTOPped, a worker SIGKILLed and a scheduler SIGKILLed are each named on the operator page,
and the alert rule's condition holds, within a minute of the fault. A frozen process is named
when its beat goes stale; a killed one at once, its pid being gone on this host (the web runs
here too). Real processes, one fault each; the time to be named is printed (the README's table
quotes it: `pytest -s tests/integration/test_stuck_processes.py`).
"""
import os
import signal
import time

import pytest

from komet.ops import heartbeats
from tests.faults import wait_until
from tests.integration.test_ops_real_processes import _metric, _operator_browser
from tests.stack import Stack

FAULTS = {"worker-sigstop": ("worker", signal.SIGSTOP), "worker-sigkill": ("worker", signal.SIGKILL),
          "scheduler-sigkill": ("scheduler", signal.SIGKILL)}
GOAL = 60  # seconds from the fault to the page naming the process and the alert's line crossed


def _beating(app, role, stack):
    """The one process of `role` in this stack that has beaten, or None. Another stack's worker
    (the session-wide one some tests share) may beat into the same database meanwhile."""
    group = stack.processes[role].pid
    with app.app_context():
        found = [p for p in heartbeats.processes() if p.role == role and _in_group(p.pid, group)]
    return found[0] if len(found) == 1 else None


def _in_group(pid, group):
    try:
        return os.getpgid(pid) == group
    except ProcessLookupError:
        return False


@pytest.mark.parametrize("fault", FAULTS)
def test_a_stopped_process_is_named_and_alerting_within_a_minute(app, smtp_sink, tmp_path, fault):
    role, sig = FAULTS[fault]
    stale = app.config["OPS_HEARTBEAT_STALE_SECONDS"]
    with Stack(app.config["SQLALCHEMY_DATABASE_URI"], smtp_sink.port, smtp_sink.path, tmp_path) as stack:
        browser = _operator_browser(app, stack)
        assert wait_until(lambda: _beating(app, role, stack) is not None, timeout=GOAL), stack.log(role)[-3000:]
        process = _beating(app, role, stack)
        named = f"{role.capitalize()} {process.pid} on {process.host} is stuck"
        group = stack.processes[role].pid
        assert os.getpgid(process.pid) == group  # the beating process is the one we stop

        os.killpg(group, sig)
        stopped = time.monotonic()
        try:
            assert wait_until(lambda: named in browser.get("/operator/")[1], timeout=GOAL), \
                browser.get("/operator/")[1]
            took = time.monotonic() - stopped
            labels = {"process": role, "pid": str(process.pid)}
            age = _metric(stack, "komet_heartbeat_age_seconds", **labels)
            ended = _metric(stack, "komet_heartbeat_process_ended", **labels)
            # KometWorkerStuck / KometSchedulerStuck fire at the next evaluation: the beat is
            # stale, or (killed, on this host) the pid is known gone.
            assert age > stale or ended == 1
            assert ended == (0 if sig == signal.SIGSTOP else 1)  # frozen is not ended
            print(f"\n{fault}: named on the operator page after {took:.0f} s (heartbeat age {age:.0f} s, "
                  f"ended {ended:.0f})")
        finally:
            if sig == signal.SIGSTOP:
                os.killpg(group, signal.SIGCONT)
        if sig == signal.SIGSTOP:  # it was frozen, not dead: once it runs again it is working
            assert wait_until(lambda: named not in browser.get("/operator/")[1], timeout=GOAL)
        else:
            stack.processes.pop(role).wait(timeout=30)
