"""tierwatch.yaml: strict validation, key paths in every error, secrets never shown."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.helpers.procs import env_with_repo, tierwatch_cmd
from tierwatch.config import ConfigError, parse
from tierwatch.core.configtypes import parse_duration

GOOD = """
site: {name: Can Tho City Data Center, timezone: Asia/Ho_Chi_Minh}
server: {listen: "127.0.0.1:9650"}
credentials:
  campus-v2: {version: 2c, community: "${SNMP_COMMUNITY}"}
  ops-v3: {version: 3, user: ops, auth_protocol: SHA256, auth_key: "${SNMP_AUTH_KEY}",
           priv_protocol: AES256, priv_key: "${SNMP_PRIV_KEY}"}
devices:
  - {id: ups-a, address: "10.10.0.11", credentials: ops-v3, profile: apc-ups, interval: 30s}
  - {id: core-1, address: "10.10.0.2:161", credentials: campus-v2, profile: [system, if-mib]}
"""

SECRETS = {"SNMP_COMMUNITY": "c0mmunity-s3cret", "SNMP_AUTH_KEY": "auth-s3cret-key",
           "SNMP_PRIV_KEY": "priv-s3cret-key"}


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse(textwrap.dedent(text), Path("tw.yaml"))
    return err.value.problems


def test_the_issue_example_loads(secrets: None) -> None:
    result = parse(GOOD, Path("tw.yaml"))
    config = result.config
    assert [d.id for d in config.devices] == ["ups-a", "core-1"]
    assert config.devices[0].interval == 30.0
    assert config.devices[0].profile == ["apc-ups"]
    assert config.devices[1].host_port == ("10.10.0.2", 161)
    creds = config.resolved_credentials("ops-v3")
    assert (creds.version, creds.user, creds.auth_protocol, creds.priv_protocol) == (
        "3", "ops", "SHA256", "AES256")
    assert creds.auth_key == SECRETS["SNMP_AUTH_KEY"]
    assert result.warnings == []  # every secret is an ${ENV} reference


def test_only_site_is_required() -> None:
    config = parse("site: {name: X}\n").config
    assert config.devices == []
    assert config.server.listen == "127.0.0.1:9650"
    assert config.snmp.defaults.interval == 30.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", 30.0), ("1m", 60.0), ("1m30s", 90.0), ("500ms", 0.5), ("2h", 7200.0),
        (15, 15.0), ("2.5", 2.5),
    ],
)
def test_durations(text: object, expected: float) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("fragment", "key", "words"),
    [
        ("devices:\n  - {id: a, address: 10.0.0.1, credentials: ops-v4, profile: system}",
         "devices[0].credentials", "unknown credentials 'ops-v4'"),
        ("devices:\n  - {id: a, address: 10.0.0.1, credentials: v2, profile: apc-upz}",
         "devices[0].profile", "unknown profile 'apc-upz'"),
        ("devices:\n  - {id: a, address: 10.0.0.1, credentials: v2, interval: 500ms}",
         "devices[0].interval", "at least 1s"),
        ("devices:\n  - {id: a, address: 10.0.0.1, credentials: v2, interval: soon}",
         "devices[0].interval", "not a duration"),
        ("devices:\n  - {id: a, address: '10.0.0.1:99999', credentials: v2}",
         "devices[0].address", "port must be"),
        ("devices:\n  - {id: a, adress: 10.0.0.1, credentials: v2}",
         "devices[0].adress", "unknown key"),
        ("devices:\n  - {id: a, address: 10.0.0.1, credentials: v2}\n"
         "  - {id: a, address: 10.0.0.2, credentials: v2}",
         "devices[1].id", "duplicate device id 'a'"),
        ("credentials:\n  bad: {version: 3, user: ops, auth_protocol: SHA1024, auth_key: x}",
         "credentials.bad.auth_protocol", "SHA256"),
        ("credentials:\n  bad: {version: 3, user: ops, priv_protocol: AES, priv_key: x}",
         "credentials.bad", "privacy needs authentication"),
        ("credentials:\n  bad: {version: 4, community: x}", "credentials.bad.version",
         "1, 2c or 3"),
        ("credentials:\n  bad: {version: 2c, community: '${NOT_SET_ANYWHERE_42}'}",
         "credentials.bad.community", "NOT_SET_ANYWHERE_42 is not set"),
        ("snmp: {engine: turbo}", "snmp.engine", "pysnmp"),
        ("site: {name: X, timezone: Mars/Olympus}", "site.timezone", "unknown time zone"),
    ],
)
def test_each_problem_names_its_key(fragment: str, key: str, words: str) -> None:
    base = "credentials:\n  v2: {version: 2c, community: public}\n"
    text = fragment if fragment.startswith("site") else "site: {name: X}\n" + (
        "" if fragment.startswith("credentials") else base) + fragment
    found = problems(text)
    assert any(f": {key}: " in p and words in p for p in found), found


def test_every_problem_is_reported_at_once_with_its_line() -> None:
    text = textwrap.dedent("""\
        site: {name: X}
        credentials:
          v2: {version: 2c, community: public}
        devices:
          - {id: a, address: 10.0.0.1, credentials: v2}
          - {id: b, address: 10.0.0.2, credentials: nope}
          - {id: c, address: 10.0.0.3, credentials: v2, profile: nope}
        """)
    found = problems(text)
    assert len(found) == 2
    assert found[0].startswith("tw.yaml:6: devices[1].credentials:")
    assert found[1].startswith("tw.yaml:7: devices[2].profile:")


def test_literal_secret_warns_without_showing_it() -> None:
    result = parse("site: {name: X}\ncredentials:\n  v2: {version: 2c, community: hunter2}\n")
    assert len(result.warnings) == 1
    assert "credentials.v2.community" in result.warnings[0]
    assert "hunter2" not in result.warnings[0]


def test_secrets_never_in_repr_or_dump(secrets: None) -> None:
    config = parse(GOOD, Path("tw.yaml")).config
    text = repr(config) + str(config.model_dump(mode="json"))
    text += repr(config.resolved_credentials("ops-v3"))
    text += repr(config.resolved_credentials("campus-v2"))
    for secret in SECRETS.values():
        assert secret not in text


def test_check_cli_exit_codes_and_output(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("site: {name: X}\ncredentials:\n  v2: {version: 2c, community: s3cr3t-x}\n"
                   "devices:\n  - {id: a, address: 10.0.0.1, credentials: ops-v4}\n")
    run = subprocess.run(tierwatch_cmd("check", "-c", str(bad)), env=env_with_repo(),
                         capture_output=True, text=True)
    assert run.returncode == 1
    assert "devices[0].credentials: unknown credentials 'ops-v4'" in run.stderr
    assert "s3cr3t-x" not in run.stdout + run.stderr

    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    run = subprocess.run(tierwatch_cmd("check", "-c", str(good)),
                         env=env_with_repo(**SECRETS), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "2 devices" in run.stdout
    assert not any(s in run.stdout + run.stderr for s in SECRETS.values())


def test_check_cli_on_broken_yaml(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("site: {name: X\ndevices: [\n")
    run = subprocess.run(tierwatch_cmd("check", "-c", str(bad)), env=env_with_repo(),
                         capture_output=True, text=True)
    assert run.returncode == 1
    assert "not valid YAML" in run.stderr and "broken.yaml:" in run.stderr


def test_check_cli_on_missing_file(tmp_path: Path) -> None:
    run = subprocess.run(tierwatch_cmd("check", "-c", str(tmp_path / "nope.yaml")),
                         env=env_with_repo(), capture_output=True, text=True)
    assert run.returncode == 1
    assert "cannot read" in run.stderr


def test_shipped_demo_config_is_valid() -> None:
    from tierwatch.commands.demo import DEMO_CONFIG

    result = parse(DEMO_CONFIG.read_text(encoding="utf-8"), DEMO_CONFIG)
    assert result.config.devices


def test_the_demo_writes_no_deprecated_section(tmp_path: Path) -> None:
    # the config the demo runs (with its own trap receiver) is what `check` would pass
    # without a deprecation warning: traps at the top level, not under alerts
    import yaml

    from tierwatch.commands.demo import effective_demo_config

    raw = effective_demo_config({}, tmp_path, None, ("127.0.0.1", 16162))
    result = parse(yaml.safe_dump(raw, allow_unicode=True), tmp_path / "tierwatch.yaml")
    assert [w for w in result.warnings if "deprecated" in w] == []
    assert (result.config.traps.enabled, result.config.traps.listen) == (True,
                                                                         "127.0.0.1:16162")


# ------------------------------------------------------------------ store.url is a secret

PG_PASSWORD = "tw%41p@ss/:w0rd{x}"  # '%41' must stay three characters, '@' and '/' too


def test_store_url_password_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TW_STORE_PASSWORD", PG_PASSWORD)
    result = parse("site: {name: X}\nstore:\n  url: postgresql+psycopg://tierwatch:"
                   "${TW_STORE_PASSWORD}@db.example:5432/tierwatch\n", Path("tw.yaml"))
    assert result.warnings == []
    url = result.config.store.resolved_url()
    assert (url.drivername, url.username, url.password, url.host, url.port, url.database) == (
        "postgresql+psycopg", "tierwatch", PG_PASSWORD, "db.example", 5432, "tierwatch")
    shown = repr(result.config) + str(result.config.model_dump(mode="json"))
    assert PG_PASSWORD not in shown and "p@ss" not in shown
    # the dump keeps what the file says (the variable's name is no secret)
    assert result.config.model_dump(mode="json")["store"]["url"] == (
        "postgresql+psycopg://tierwatch:${TW_STORE_PASSWORD}@db.example:5432/tierwatch")


def test_store_url_whole_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TW_STORE_URL", "postgresql+psycopg://tw:s3cr%40t@db:5433/tw")
    config = parse("site: {name: X}\nstore: {url: '${TW_STORE_URL}'}\n").config
    url = config.store.resolved_url()
    assert (url.username, url.password, url.host, url.port) == ("tw", "s3cr@t", "db", 5433)
    assert "s3cr" not in repr(config) + str(config.model_dump(mode="json"))


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://tw:${NOT_SET_ANYWHERE_43}@db/tw",
    "${NOT_SET_ANYWHERE_43}",
])
def test_store_url_reference_must_be_set(url: str) -> None:
    found = problems(f"site: {{name: X}}\nstore: {{url: '{url}'}}\n")
    assert found == ["tw.yaml:2: store.url: environment variable NOT_SET_ANYWHERE_43 is not set"]


def test_store_url_from_the_environment_must_be_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TW_STORE_URL", "tw:h4ckme@db")
    found = problems("site: {name: X}\nstore: {url: '${TW_STORE_URL}'}\n")
    assert len(found) == 1 and "store.url: environment variable TW_STORE_URL" in found[0]
    assert "h4ckme" not in found[0]


def test_store_url_that_is_not_a_url_is_refused_unshown() -> None:
    found = problems("site: {name: X}\nstore: {url: 'tierwatch:h4ckme@db/tierwatch'}\n")
    assert len(found) == 1 and found[0].startswith("tw.yaml:2: store.url: not an SQLAlchemy URL")
    assert "h4ckme" not in found[0]


def test_store_url_literal_password_warns_and_is_hidden() -> None:
    # a literal password, %-escaped as a URL needs: s3cr%t@x
    result = parse("site: {name: X}\nstore:\n  url: postgresql+psycopg://tierwatch:"
                   "s3cr%25t%40x@db.example/tierwatch\n", Path("tw.yaml"))
    assert result.warnings == ["tw.yaml:3: store.url: password written literally in the URL; "
                               "prefer ${ENV_VAR} (postgresql+psycopg://user:${PGPASSWORD}@...)"]
    assert result.config.store.resolved_url().password == "s3cr%t@x"
    dumped = result.config.model_dump(mode="json")["store"]["url"]
    assert dumped == "postgresql+psycopg://tierwatch:***@db.example/tierwatch"
    assert "s3cr" not in repr(result.config) + str(result.config.model_dump(mode="json"))


def test_store_url_sqlite_default_and_path() -> None:
    assert parse("site: {name: X}\n").config.store.resolved_url().database == (
        "tierwatch.sqlite")
    result = parse("site: {name: X}\nstore: {url: 'sqlite:////var/lib/tw/s.sqlite'}\n")
    assert result.warnings == []
    assert result.config.model_dump(mode="json")["store"]["url"] == (
        "sqlite:////var/lib/tw/s.sqlite")
    assert result.config.store.resolved_url().database == "/var/lib/tw/s.sqlite"


def test_check_warns_of_a_literal_store_password(tmp_path: Path) -> None:
    path = tmp_path / "tw.yaml"
    path.write_text("site: {name: X}\nstore:\n  url: postgresql+psycopg://tierwatch:"
                    "s3cr%25t%40x@db.example/tierwatch\n")
    run = subprocess.run(tierwatch_cmd("check", "-c", str(path)), env=env_with_repo(),
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "warning: " in run.stderr and "store.url: password written literally" in run.stderr
    assert "s3cr" not in run.stdout + run.stderr


def test_a_pair_needs_a_postgresql_store() -> None:
    found = problems("site: {name: X}\nha:\n  enabled: true\n")
    # line 3 of the file holds `enabled`; the store is the default SQLite file
    assert found == ["tw.yaml:3: ha.enabled: an active/standby pair needs a PostgreSQL store "
                     "both members share (store.url is sqlite); see docs/operations.md"]


def test_a_pair_renews_well_within_its_lease() -> None:
    found = problems("site: {name: X}\nstore: {url: 'postgresql+psycopg://tw@db/tw'}\n"
                     "ha: {enabled: true, lease: 4s, renew: 3s}\n")
    assert len(found) == 1 and found[0].startswith("tw.yaml:3: ha: ")
    assert "ha.renew (3s) must be at most half of ha.lease (4s)" in found[0]


def test_a_pair_member_on_postgresql_loads_with_its_defaults() -> None:
    config = parse("site: {name: X}\nstore: {url: 'postgresql+psycopg://tw@db/tw'}\n"
                   "ha: {enabled: true}\n", Path("tw.yaml")).config
    assert (config.ha.lease, config.ha.renew) == (10.0, 3.0)
    assert config.ha.instance.endswith(f"-{os.getpid()}")  # hostname-pid
