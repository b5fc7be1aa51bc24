"""What a researcher watches while a sweep runs: the Ray dashboard (and how to get into it) and Tune's
progress table, without the console lines that point away from the results.

Ray 2.60 turns token authentication on for a local cluster: the dashboard's page loads, but its data
needs the cluster's token, which the page asks for once per browser (``ray get-auth-token`` prints
it; a local cluster keeps it in ``~/.ray/auth_token``). The dashboard is not always on port 8265:
another Ray on the machine moves it to 8266, 8267, ... So the sweep's banner prints the real address
and the way in, once, instead of Ray's own warning.
"""

from __future__ import annotations

import logging
import os

from ray.tune import CLIReporter

_TOKEN_LOGGER = "ray._private.authentication.authentication_token_setup"


class _SayItOnce(logging.Filter):
    """Drop Ray's "token authentication is enabled" warning: the banner explains it instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Token authentication is enabled" not in record.getMessage()


def quiet_token_warning() -> None:
    logger = logging.getLogger(_TOKEN_LOGGER)
    if not any(isinstance(f, _SayItOnce) for f in logger.filters):
        logger.addFilter(_SayItOnce())


def token_auth_on() -> bool:
    try:
        from ray._private.authentication.authentication_utils import is_token_auth_enabled

        return bool(is_token_auth_enabled())
    except Exception:  # noqa: BLE001 - an older or minimal Ray: no token auth to explain
        return os.environ.get("RAY_AUTH_MODE") == "token"


def dashboard_url() -> str | None:
    from ray._private.worker import get_dashboard_url

    url = get_dashboard_url()
    if not url:
        return None
    return url if "://" in url else f"http://{url}"


def dashboard_line() -> str:
    """One line for the banner: where the dashboard is and how to get into it."""
    url = dashboard_url()
    if url is None:
        return "Ray dashboard: not running (it needs ray[default]: pip install 'ray[default]')"
    if token_auth_on():
        return (f"Ray dashboard: {url}  (token authentication is on: the page asks for the cluster's token once per "
                "browser; `ray get-auth-token` prints it)")
    return f"Ray dashboard: {url}  (no authentication: keep it on 127.0.0.1 or behind an SSH tunnel)"


class SweepReporter(CLIReporter):
    """Tune's progress table without its "Result logdir: <Ray temp dir>" line (results are in the sweep
    folder, which the line names instead)."""

    def __init__(self, sweep_dir: str, **kwargs):
        super().__init__(**kwargs)
        self.sweep_dir = sweep_dir

    def _print(self, msg: str) -> None:
        lines = [line for line in msg.splitlines() if not line.startswith("Result logdir:")]
        print("\n".join([f"Results: {self.sweep_dir}", *lines]), flush=True)
