"""`farmwatch poll snmp://` reads its community and v3 passwords from --*-file/--*-env by the daemon's rules
(agent.secret, passed in by the CLI: collectors/snmp/cli.py imports nothing from the agent). Through the real
command line: a secret file that cannot be read is a usage error (exit 2, one line naming it, no traceback); one
that can is used for the poll (a silent address then times out: exit 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.cli import main


def test_an_unreadable_community_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.txt"
    rc = main(["poll", "snmp://127.61.250.9:16199", "--community-file", str(missing), "--timeout", "1"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and "nope.txt" in err and "Traceback" not in err


def test_a_readable_community_file_is_used_for_the_poll(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = tmp_path / "community.txt"
    secret.write_text("site-community\n")
    secret.chmod(0o600)
    rc = main(["poll", "snmp://127.61.250.9:16199", "--community-file", str(secret), "--timeout", "1"])
    err = capsys.readouterr().err
    assert rc == 1 and "timeout" in err  # read, then polled: nothing answers there
    assert "site-community" not in err


def test_v3_flags_without_a_user_stay_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = tmp_path / "auth.txt"
    secret.write_text("auth-password\n")
    secret.chmod(0o600)
    rc = main(["poll", "snmp://127.61.250.9:16199", "--auth-protocol", "SHA", "--auth-password-file", str(secret)])
    err = capsys.readouterr().err
    assert rc == 2 and "--snmp-user" in err and "auth-password" not in err
