import dataclasses
import re
import textwrap
from pathlib import Path

import pytest

from agent.config import check_config, load_config
from agent.secret import Secret
from agent.settings import Config, split_listen
from agent.targets import Target
from agent.yamlread import ConfigError, Problem, parse_duration
from collectors import registry

REPO = Path(__file__).resolve().parents[2]
CANARY = "Zq7-canary-s3cret-VALUE"


def write(tmp_path: Path, text: str, name: str = "site.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def messages(path: Path, **kwargs: bool) -> list[str]:
    return [str(p) for p in check_config(path, **kwargs)]


def test_minimal_config_gets_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        site: farm-1
        miners:
          - targets: ["10.0.0.0/30"]
        """,
    )
    config = load_config(path)
    assert isinstance(config, Config)
    assert (config.site, config.listen, config.listen_host, config.listen_port) == (
        "farm-1",
        ":10428",
        "",
        10428,
    )
    [group] = config.miners
    assert group.targets == (Target("10.0.0.1", 4028), Target("10.0.0.2", 4028))
    assert (group.driver, group.interval, group.timeout) == ("auto", 60.0, 10.0)
    assert (group.concurrency, group.per_subnet_concurrency, group.port) == (1000, 64, 4028)
    assert group.credentials.web_password is None
    assert config.snmp == ()
    assert (config.gpus.enabled, config.power.nameplate_fallback) == ("auto", False)
    assert (config.identity_interval, config.shard, config.sitemap) == (3600.0, None, None)


@pytest.mark.parametrize(("interval", "expected"), [("10s", 5.0), ("5s", 2.5), ("15s", 7.5), ("60s", 10.0),
                                                     ("5m", 10.0), ("1s", 0.5)])
def test_a_timeout_left_out_follows_the_interval(tmp_path: Path, interval: str, expected: float) -> None:
    """Without ``timeout:`` a group gets half its interval, at most the 10 s default: a plain ``interval: 10s``
    (and any other interval) validates, and a device that never answers frees its slot half-way through."""
    path = write(tmp_path, f"""
        miners:
          - targets: [10.0.0.1]
            interval: {interval}
        snmp:
          - targets: [10.0.20.1]
            interval: {interval}
            community_env: FARMWATCH_TEST_COMMUNITY
        """)
    assert messages(path, check_secrets=False) == []
    config = load_config(path, check_secrets=False)
    assert config.miners[0].timeout == expected and config.snmp[0].timeout == expected


def test_full_config_loads(tmp_path: Path) -> None:
    (tmp_path / "antminer").write_text("pw1\n")
    (tmp_path / "auth").write_text("authpw\n")
    (tmp_path / "priv").write_text("privpw\n")
    (tmp_path / "map.csv").write_text("mac,rack\naa:bb:cc:dd:ee:01,R1\n")
    path = write(
        tmp_path,
        """
        site: farm-2
        listen: 127.0.0.1:9000
        identity_interval: 30m
        shard: 1/3
        miners:
          - targets: [10.0.0.5, "10.0.0.6:4029"]
            driver: Antminer
            interval: 1m30s
            timeout: 500ms
            concurrency: 50
            per_subnet_concurrency: 8
            credentials: {web_username: root, web_password_file: antminer}
        snmp:
          - targets: 10.0.20.1-10.0.20.2
            profile: raritan
            retries: 3
            port: 1161
            v3: {user: fw, auth_protocol: sha256, auth_password_file: auth, priv_protocol: aes256,
                 priv_password_file: priv}
        gpus: {enabled: false, interval: 5s}
        power: {nameplate_fallback: true}
        sitemap: map.csv
        """,
    )
    config = load_config(path)
    miners, snmp = config.miners[0], config.snmp[0]
    assert (config.listen_host, config.listen_port, config.identity_interval, config.shard) == (
        "127.0.0.1",
        9000,
        1800.0,
        (1, 3),
    )
    assert [str(t) for t in miners.targets] == ["10.0.0.5:4028", "10.0.0.6:4029"]
    assert (miners.driver, miners.interval, miners.timeout, miners.concurrency) == ("antminer", 90.0, 0.5, 50)
    assert miners.credentials.web_username == "root"
    assert miners.credentials.web_password is not None
    assert miners.credentials.web_password.reveal() == "pw1"
    assert [str(t) for t in snmp.targets] == ["10.0.20.1:1161", "10.0.20.2:1161"]
    assert (snmp.profile, snmp.retries, snmp.community) == ("raritan", 3, None)
    assert snmp.v3 is not None
    assert (snmp.v3.user, snmp.v3.auth_protocol, snmp.v3.priv_protocol) == ("fw", "SHA256", "AES256")
    assert snmp.v3.priv_password is not None and snmp.v3.priv_password.reveal() == "privpw"
    assert (config.gpus.enabled, config.gpus.interval, config.power.nameplate_fallback) == (False, 5.0, True)
    assert config.sitemap_path == tmp_path / "map.csv"
    assert config.sitemap is not None
    assert config.sitemap.locate(mac="AA-BB-CC-DD-EE-01") is not None


def test_example_passes_without_secret_files() -> None:
    example = REPO / "deploy" / "site.example.yaml"
    assert check_config(example, check_secrets=False) == []
    config = load_config(example, check_secrets=False)
    assert config.sitemap is not None and len(config.sitemap) > 0
    assert len(config.miners[0].targets) == 1022 + 241


def test_example_reports_its_missing_secret_files_when_checked() -> None:
    problems = check_config(REPO / "deploy" / "site.example.yaml")
    assert problems and all("does not exist" in p.message and "/run/secrets/" in p.message for p in problems)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "miners:\n  - targets: [10.0.0.1]\n    interval: 60x\n",
            'site.yaml:3: miners[0].interval: "60x" is not a duration (use 30s, 2m, 1h)',
        ),
        (
            "miners:\n  - targets: [10.0.0.1]\n    interval: 60\n",
            'site.yaml:3: miners[0].interval: "60" is not a duration (use 30s, 2m, 1h)',
        ),
        (
            "miners:\n  - targets: [10.0.0.1]\n    intervall: 30s\n",
            "site.yaml:3: miners[0].intervall: unknown key; did you mean 'interval'?",
        ),
        (
            "miners:\n  - targets: [10.0.0.1]\n    concurrency: many\n",
            "site.yaml:3: miners[0].concurrency: expected a whole number, got text",
        ),
        (
            "miners:\n  - targets: [10.0.0.1]\n    per_subnet_concurrency: 0\n",
            "site.yaml:3: miners[0].per_subnet_concurrency: 0 is out of range (must be at least 1)",
        ),
        (
            "miners:\n  - targets: [10.0.0.1, 10.0.8.250-10.0.8.10]\n",
            "site.yaml:2: miners[0].targets[1]: '10.0.8.250-10.0.8.10': range is reversed "
            "(10.0.8.10 comes before 10.0.8.250)",
        ),
        (
            "miners:\n  - driver: auto\n",
            "site.yaml:2: miners[0].targets: is required (IPs, CIDR blocks or ranges)",
        ),
        (
            "miners:\n  - targets: [10.0.0.1]\n    driver: antminr\n",
            "site.yaml:3: miners[0].driver: \"antminr\" is not a known driver; did you mean 'antminer'?",
        ),
        (
            "miners:\n  - targets: [10.0.0.1]\n    interval: 10s\n    timeout: 10s\n",
            "site.yaml:4: miners[0].timeout: timeout 10s must be shorter than interval 10s",
        ),
        (
            "miners:\n  - targets: [10.0.0.1]\n    interval: 5s\n    timeout: 8s\n",
            "site.yaml:4: miners[0].timeout: timeout 8s must be shorter than interval 5s",
        ),
        (
            "miners:\n  targets: [10.0.0.1]\n",
            "site.yaml:2: miners: expected a list (start each item with '- '), got a mapping",
        ),
        (
            "snmp:\n  - targets: [10.0.20.1]\n    profile: apcc\n    community_env: HOME\n",
            "site.yaml:3: snmp[0].profile: \"apcc\" is not a known SNMP profile; did you mean 'apc'?",
        ),
        (
            "snmp:\n  - targets: [10.0.20.1]\n",
            "site.yaml:2: snmp[0]: needs community_file (or community_env) for SNMP v2c, or v3",
        ),
        (
            "snmp:\n  - targets: [10.0.20.1]\n    v3:\n      user: u\n      auth_protocol: SHA3\n      auth_password_env: HOME\n",
            'site.yaml:5: snmp[0].v3.auth_protocol: "SHA3" is not one of MD5, SHA, SHA224, SHA256, SHA384, SHA512',
        ),
        (
            "snmp:\n  - targets: [10.0.20.1]\n    v3: {user: u, priv_protocol: AES, priv_password_env: HOME}\n",
            "site.yaml:3: snmp[0].v3.priv_protocol: privacy needs authentication too (set auth_protocol)",
        ),
        (
            "listen: 10428x\n",
            'site.yaml:1: listen: "10428x" is not a listen address (use :10428 or 0.0.0.0:10428)',
        ),
        ("shard: 2/2\n", "site.yaml:1: shard: '2/2' is not a shard; use i/n with 0 <= i < n (e.g. 0/4)"),
        ("gpus: {enabled: maybe}\n", "site.yaml:1: gpus.enabled: expected auto, true or false"),
        (
            "power: {nameplate_fallback: sure}\n",
            "site.yaml:1: power.nameplate_fallback: expected true or false, got text",
        ),
        ("sitemap: nowhere.csv\n", "site.yaml:1: sitemap: file nowhere.csv does not exist"),
        ("site: a\nsite: b\n", "site.yaml:2: site: duplicate key (first on line 1)"),
        ("miner:\n  - targets: [10.0.0.1]\n", "site.yaml:1: miner: unknown key; did you mean 'miners'?"),
        (
            "miners:\n  - targets: [10.0.0.1]\n    credentials: {password: x}\n",
            "site.yaml:3: miners[0].credentials.password: secrets are never written in the config: "
            "put the value in a file and use web_password_file (or web_password_env)",
        ),
        (
            "snmp:\n  - targets: [10.0.20.1]\n    community: public\n",
            "site.yaml:3: snmp[0].community: secrets are never written in the config: "
            "put the value in a file and use community_file (or community_env)",
        ),
        (
            "miners:\n  - targets: [10.0.0.1]\n    credentials: {web_password_file: missing-file}\n",
            "site.yaml:3: miners[0].credentials.web_password_file: secret file does not exist (the name is not "
            "shown in case it is the password itself: put the password in a file and give that file's path)",
        ),
        (
            "miners:\n  - targets: [10.0.0.1]\n    credentials:\n      web_password_env: FARMWATCH_TEST_UNSET_VAR\n",
            "site.yaml:4: miners[0].credentials.web_password_env: environment variable FARMWATCH_TEST_UNSET_VAR "
            "is not set or empty",
        ),
    ],
)
def test_each_problem_names_line_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)  # so that problems name "site.yaml" as the operator typed it
    monkeypatch.delenv("FARMWATCH_TEST_UNSET_VAR", raising=False)
    Path("site.yaml").write_text(body)
    assert [str(p) for p in check_config("site.yaml")] == [expected]
    with pytest.raises(ConfigError) as caught:
        load_config("site.yaml")
    assert str(caught.value) == expected


def test_yaml_syntax_error_names_its_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("site.yaml").write_text(
        "site: farm\nminers:\n  - targets: [10.0.0.1\n    interval: 30s\n\ngpus: auto\n"
    )
    [problem] = check_config("site.yaml")
    assert (problem.line, problem.key) == (4, "")
    assert str(problem).startswith("site.yaml:4: YAML syntax error: ")
    assert "flow sequence started on line 3" in str(problem)
    Path("site.yaml").write_text("site: farm\n\tminers: []\n")
    [problem] = check_config("site.yaml")
    assert problem.line == 2 and "YAML syntax error" in problem.message


def test_many_problems_are_reported_together_in_file_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("map.csv").write_text("mac,rak\nnot-a-mac,R1\n")
    Path("site.yaml").write_text(
        textwrap.dedent(
            """
            site: farm
            miners:
              - targets: ["10.0.0.0/24", "10.0.0.999"]
                interval: 60x
                drivr: auto
              - targets: 10.0.0.0/30
                timeout: 2m
            snmp:
              - targets: [10.0.20.0/28]
                profile: nope
                community_env: HOME
            gpus: {enabled: auto, intreval: 1s}
            sitemap: map.csv
            """
        ).lstrip()
    )
    found = [(p.file, p.line, p.key) for p in check_config("site.yaml")]
    assert found == [
        ("site.yaml", 3, "miners[0].targets[1]"),
        ("site.yaml", 4, "miners[0].interval"),
        ("site.yaml", 5, "miners[0].drivr"),
        ("site.yaml", 6, "miners[1].targets"),  # overlaps miners[0]
        ("site.yaml", 7, "miners[1].timeout"),
        ("site.yaml", 10, "snmp[0].profile"),
        ("site.yaml", 12, "gpus.intreval"),
        ("map.csv", 1, "rak"),
        ("map.csv", 2, "mac"),
    ]
    with pytest.raises(ConfigError) as caught:
        load_config("site.yaml")
    assert len(caught.value.problems) == 9
    assert "overlaps miners[0] (10.0.0.1:4028 and 1 more)" in str(caught.value)


def _sections_named(message: str) -> list[str]:
    return re.findall(r"(\w+):(?=,| or |\)$)", message)


def test_an_empty_config_names_the_section_of_every_registered_collector(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Someone starting a config learns every section that makes one, read from the collector registry: a
    collector added later is named too, with no edit to the message."""
    empty = write(tmp_path, "# nothing yet\n")
    [message] = messages(empty)
    assert message.startswith(f"{empty}: is empty (a config needs at least ")
    assert sorted(_sections_named(message)) == sorted(k.section for k in registry.kinds().values())
    assert {"miners", "snmp", "gpus", "pool_api"} <= set(_sections_named(message))
    added = registry.CollectorKind(name="ups", section="ups", summary="a collector added later",
                                   configure=lambda _section, _setup: [])
    registered = registry.kinds()
    monkeypatch.setattr(registry, "kinds", lambda: {**registered, "ups": added})
    [message] = messages(empty)
    assert sorted(_sections_named(message)) == sorted([*(k.section for k in registered.values()), "ups"])


def test_empty_and_unreadable_files(tmp_path: Path) -> None:
    assert messages(tmp_path / "absent.yaml") == [
        f"{tmp_path / 'absent.yaml'}: cannot read: No such file or directory"
    ]
    empty = write(tmp_path, "# nothing yet\n")
    assert [m.partition(" (")[0] for m in messages(empty)] == [f"{empty}: is empty"]  # what it needs: above
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"site: \xff\xfe\n")
    assert messages(binary) == [f"{binary}: is not UTF-8 text (byte 6)"]
    listed = write(tmp_path, "- a\n- b\n")
    assert messages(listed) == [f"{listed}:1: expected a mapping, got a list"]


def test_secret_files_problems(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("\n")
    (tmp_path / "dir").mkdir()
    path = write(
        tmp_path,
        """
        snmp:
          - targets: [10.0.20.1]
            community_file: empty
          - targets: [10.0.20.2]
            community_file: dir
          - targets: [10.0.20.3]
            community_file: dir
            community_env: HOME
        """,
    )
    assert [(p.line, p.key, p.message) for p in check_config(path)] == [
        (3, "snmp[0].community_file", f"secret file {tmp_path / 'empty'} is empty"),
        (5, "snmp[1].community_file", f"secret file {tmp_path / 'dir'} is a directory"),
        (8, "snmp[2].community_env", "give one of community_file or community_env, not both"),
    ]


def test_secrets_from_env_and_lazy_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FW_COMMUNITY", "from-env")
    path = write(
        tmp_path,
        """
        snmp:
          - targets: [10.0.20.1]
            community_env: FW_COMMUNITY
          - targets: [10.0.20.2]
            community_file: later
        """,
    )
    assert [p.key for p in check_config(path)] == ["snmp[1].community_file"]
    config = load_config(path, check_secrets=False)
    first, second = config.snmp[0].community, config.snmp[1].community
    assert first is not None and second is not None
    assert first.reveal() == "from-env"
    (tmp_path / "later").write_text("written-after-start\r\n")
    assert second.reveal() == "written-after-start"


def test_secrets_never_appear_in_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FW_SECRET", CANARY)
    (tmp_path / "pw").write_text(CANARY + "\n")
    good = write(
        tmp_path,
        """
        miners:
          - targets: [10.0.0.1]
            credentials: {web_password_file: pw}
        snmp:
          - targets: [10.0.20.1]
            community_env: FW_SECRET
          - targets: [10.0.20.2]
            v3: {user: u, auth_protocol: SHA, auth_password_file: pw, priv_protocol: AES, priv_password_env: FW_SECRET}
        """,
    )
    config = load_config(good)
    secret = config.miners[0].credentials.web_password
    assert isinstance(secret, Secret) and secret.reveal() == CANARY
    shown = [
        repr(config),
        str(config),
        repr(dataclasses.asdict(config)),
        str(secret),
        f"{secret}",
        repr(config.snmp),
    ]
    assert not any(CANARY in text for text in shown)
    assert "Secret(<file " in repr(config) and "Secret(<environment variable FW_SECRET>)" in repr(config)

    # Secrets typed into the config by mistake, in every place a value can be echoed, including a syntax error.
    bad_bodies = [
        f"miners:\n  - targets: [10.0.0.1]\n    credentials: {{password: {CANARY}}}\n",
        f"snmp:\n  - targets: [10.0.20.1]\n    community: {CANARY}\n",
        f"snmp:\n  - targets: [10.0.20.1]\n    community_file: {{{CANARY}: 1}}\n",
        f"miners:\n  - targets: [10.0.0.1]\n    credentials: {CANARY}\n",
        f"miners:\n  - targets: [10.0.0.1]\n    credentials: {{web_password_file: [{CANARY}]}}\n",
        f"snmp:\n  - targets: [10.0.20.1]\n    v3: {{user: u, auth_password: {CANARY}}}\n",
        f"password: {CANARY}\n",
        f'snmp:\n  - targets: [10.0.20.1]\n    community: "{CANARY}\n',
        f"miners:\n  - targets: [10.0.0.1]\n    credentials: {{web_password: {CANARY}, web_password_file: pw}}\n",
    ]
    for i, body in enumerate(bad_bodies):
        path = write(tmp_path, body, f"bad{i}.yaml")
        problems = check_config(path)
        assert problems, body
        with pytest.raises(ConfigError) as caught:
            load_config(path)
        output = "\n".join([*map(str, problems), *map(repr, problems), str(caught.value), repr(caught.value)])
        assert CANARY not in output, output


def test_merge_keys_share_settings(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        x-defaults: &defaults
          interval: 2m
          timeout: 20s
        miners:
          - {<<: *defaults, targets: [10.0.0.1]}
          - {<<: *defaults, targets: [10.0.0.2], timeout: 5s}
        """,
    )
    assert messages(path) == [
        f"{path}:1: x-defaults: unknown key (known: curtailment, economics, gpus, identity_interval, listen, "
        "miners, pool_api, pools, power, power_domains, rescan_interval, shard, site, sitemap, snmp, storage)"
    ]
    path.write_text(path.read_text().replace("x-defaults: &defaults", "site: &defaults"))
    assert [p.key for p in check_config(path)] == ["site"]  # a mapping is not a site name
    path = write(
        tmp_path,
        """
        miners:
          - &base {targets: [10.0.0.1], interval: 2m, timeout: 20s}
          - {<<: *base, targets: [10.0.0.2], timeout: 5s}
        """,
    )
    config = load_config(path)
    assert [(g.interval, g.timeout) for g in config.miners] == [(120.0, 20.0), (120.0, 5.0)]


def test_targets_overlapping_across_groups_but_not_across_ports(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        miners:
          - targets: [10.0.0.0/29]
          - targets: [10.0.0.7:4029]
        snmp:
          - targets: [10.0.0.0/29]
            community_env: HOME
        """,
    )
    config = load_config(path)
    assert [len(g.targets) for g in config.miners] == [6, 1]
    assert len(config.snmp[0].targets) == 6


def test_listen_forms() -> None:
    assert split_listen(":10428") == ("", 10428)
    assert split_listen("0.0.0.0:80") == ("0.0.0.0", 80)
    assert split_listen("[::]:10428") == ("::", 10428)
    for bad in ("10428", "::1:80", "host:0", "host:port"):
        with pytest.raises(ValueError):
            split_listen(bad)


def test_listen_as_number(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "listen: 9000\ngpus: auto\n")).listen == ":9000"


def test_durations() -> None:
    assert [parse_duration(t) for t in ("500ms", "30s", "2m", "1h", "1d", "1m30s", "1.5s")] == [
        0.5,
        30,
        120,
        3600,
        86400,
        90,
        1.5,
    ]
    for bad in ("", "60", "60x", "-1s", "0s", "1 h", "m"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_problem_format_without_line_or_key() -> None:
    assert str(Problem("a.yaml", None, "", "gone")) == "a.yaml: gone"
    assert str(Problem("a.yaml", 3, "k", "bad")) == "a.yaml:3: k: bad"


def test_unknown_yaml_tag_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = write(tmp_path, "site: !vault abc\n")
    assert messages(path) == [f"{path}:1: site: expected text, got a value"]


def test_repr_shows_specs_not_every_device(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "miners:\n  - targets: [10.0.0.0/16]\n"))
    assert len(config.miners[0].targets) == 65534
    assert "specs=('10.0.0.0/16',)" in repr(config) and len(repr(config)) < 2000


def test_use_default_password_is_opt_in(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        site: s
        miners:
          - targets: [10.0.0.1]
            credentials: {use_default_password: true}
          - targets: [10.0.0.2]
            credentials: {web_username: admin}
          - targets: [10.0.0.3]
        """,
    )
    a, b, c = load_config(path).miners
    assert a.credentials.use_default_password is True and a.credentials.web_password is None
    assert b.credentials.use_default_password is False and b.credentials.web_username == "admin"
    assert c.credentials.use_default_password is False
    bad = write(tmp_path, "site: s\nminers:\n  - targets: [10.0.0.1]\n    credentials: {use_default_password: maybe}\n")
    assert any("use_default_password" in m for m in messages(bad))
