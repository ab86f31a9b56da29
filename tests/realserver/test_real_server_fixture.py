"""How the real-server tier behaves where the server binary is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from real_livekit_server import BIN_ENV, REQUIRE_ENV, skip_or_fail_without_server


def test_a_missing_server_skips_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(BIN_ENV, str(tmp_path / "no-such-server"))
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"not installed.*go install"):
        skip_or_fail_without_server()


def test_a_missing_server_fails_when_ci_requires_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(BIN_ENV, str(tmp_path / "no-such-server"))
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=f"{REQUIRE_ENV} is set"):
        skip_or_fail_without_server()
