"""The one masker (tfbuild/secrets.py) and the console that every output goes through."""

from __future__ import annotations

import json
import shlex

import pytest

from tfbuild import console, secrets
from tfbuild.runner import Runner


@pytest.mark.parametrize("text, secret", [
    ("https://bob:hunter2pw@mirror.example/simple", "hunter2pw"),
    ("grpcs://tok-abcdef@cache.example:443", "tok-abcdef"),
    ("PIP_INDEX_URL=https://u:pw-1234@127.0.0.1/simple", "pw-1234"),
    ("--remote_header=Authorization=Bearer tok-5678 --curses=no", "tok-5678"),
    (shlex.join(["bazel", "--remote_header=Authorization=Basic dXNlcjpwdw==", "build"]), "dXNlcjpwdw=="),
    ("--bes_header=X-Key=abcdef123", "abcdef123"),
    ("Authorization: Bearer eyJhbGciOi.payload", "eyJhbGciOi.payload"),
    ("proxy-authorization: Basic Zm9vOmJhcg==", "Zm9vOmJhcg=="),
    ("--client_env=API_TOKEN=ghp_0123456789", "ghp_0123456789"),
    ("GITHUB_TOKEN=ghp_abcdefghij and more", "ghp_abcdefghij"),
    ("DB_PASSWORD='two words'", "two words"),
])
def test_each_shape_of_secret_is_masked(text, secret):
    masked = secrets.mask(text)
    assert secret not in masked and "***" in masked


@pytest.mark.parametrize("text", [
    "PATH=/usr/bin:/bin", "remote.header_env=CACHE_AUTH", "https://mirror.example/simple",
    "--remote_cache=grpc://127.0.0.1:9092 --curses=no", "INFO: Build completed, 7 total actions",
])
def test_ordinary_text_is_left_alone(text):
    assert secrets.mask(text) == text


def test_a_registered_value_is_masked_anywhere():
    secrets.register("opaque-value-42")
    assert secrets.mask("header was opaque-value-42 here") == "header was *** here"


def test_very_short_values_are_not_registered():
    secrets.register("ab")  # would mask every "ab" in every log
    assert secrets.mask("abab") == "abab"


def test_mask_data_masks_by_key_and_by_value():
    data = {"environment": {"API_TOKEN": "v1", "PATH": "/bin", "HOME": "/h"},
            "remote": {"header_env": "CACHE_AUTH", "cache": "https://u:p4ss@h/c"},
            "argv": ["bazel", "--client_env=MY_SECRET=a b c", "--remote_header=X=y z"]}
    masked = secrets.mask_data(data)
    text = json.dumps(masked)
    assert "v1" not in text and "p4ss" not in text and "a b c" not in text and "y z" not in text
    assert masked["environment"]["PATH"] == "/bin"
    assert masked["remote"]["header_env"] == "CACHE_AUTH"  # names a variable, holds no secret
    assert masked["argv"][1] == "--client_env=MY_SECRET=***"


def test_runner_records_and_masks_through_the_one_masker():
    Runner.add_secret("Authorization: Bearer zz-top-secret")
    assert Runner.mask("x Authorization: Bearer zz-top-secret y") == "x *** y"
    assert "Authorization: Bearer zz-top-secret" in secrets.registered()  # for every output


class Captured:
    def __init__(self, capsys):
        self.capsys = capsys
        self.out = self.err = ""

    def read(self) -> "Captured":
        got = self.capsys.readouterr()
        self.out, self.err = self.out + got.out, self.err + got.err
        return self


@pytest.fixture
def captured(monkeypatch, capsys):
    monkeypatch.setenv("TFBUILD_COLOR", "0")
    return Captured(capsys)


@pytest.mark.parametrize("emit", [console.info, console.plain, console.step, console.note,
                                  console.success, console.warn, console.error, console.command])
def test_every_console_output_is_masked_and_cleaned(captured, emit):
    emit("url https://u:pw-9999@h/x \x1b[2J evil \u202e reversed")
    captured.read()
    text = captured.out + captured.err
    assert "pw-9999" not in text
    assert "\x1b" not in text and "\u202e" not in text
    assert "\\x1b" in text and "\\u202e" in text


def test_tables_are_masked_and_cleaned(captured):
    console.table("t \x07", ["a"], [["grpc://tok-777777@h \x1b]0;title\x07"]])
    text = captured.read().out
    assert "tok-777777" not in text and "\x1b" not in text and "\x07" not in text


def test_an_error_line_is_not_echoed_whole(captured):
    console.error("value " + "y" * 100_000)
    err = captured.read().err
    assert len(err) < 3000 and "more characters" in err


@pytest.mark.parametrize("word, tty, wanted", [("1", False, True), ("yes", False, True),
                                                ("0", True, False), ("off", True, False),
                                                ("banana", True, True), ("banana", False, False)])
def test_color_words(monkeypatch, word, tty, wanted):
    monkeypatch.setenv("TFBUILD_COLOR", word)
    assert console._color_wanted(tty) is wanted


def test_environment_words_are_checked_before_any_task():
    from tfbuild import cli
    from tfbuild.errors import ConfigError

    cli.check_environment({"TFBUILD_COLOR": "1", "TFBUILD_DEBUG": "false",
                           "TFBUILD_STATE_DIR": "/abs"})
    for env in ({"TFBUILD_COLOR": "banana"}, {"TFBUILD_DEBUG": "maybe"},
                {"TFBUILD_STATE_DIR": "relative/state"}, {"TFBUILD_STATE_DIR": ""}):
        with pytest.raises(ConfigError):
            cli.check_environment(env)


def test_debug_zero_is_off(monkeypatch):
    from tfbuild import cli

    monkeypatch.setenv("TFBUILD_DEBUG", "0")
    assert cli._debug() is False
    monkeypatch.setenv("TFBUILD_DEBUG", "1")
    assert cli._debug() is True
