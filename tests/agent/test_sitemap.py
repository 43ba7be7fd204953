import textwrap
from pathlib import Path

import pytest

from agent.sitemap import Location, check_sitemap, load_sitemap, normalize_mac
from agent.yamlread import ConfigError

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def problems(path: Path) -> list[str]:
    return [str(p).removeprefix(f"{path}") for p in check_sitemap(path)]


def test_csv_by_mac(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "map.csv",
        """
        MAC, Container ,rack,shelf,slot,pdu,outlet
        aa-bb-cc-dd-ee-01,C1,R1,2,7,pdu-1,12
        AABB.CCDD.EE02,C1,R1,,,,
        """,
    )
    sitemap = load_sitemap(path)
    assert sitemap.locate(mac="AA:BB:CC:DD:EE:01") == Location("C1", "R1", "2", "7", "pdu-1", "12")
    assert sitemap.locate(mac="aabbccddee02") == Location(container="C1", rack="R1")
    assert sitemap.locate(mac="AA:BB:CC:DD:EE:03") is None
    assert sitemap.locate(ip="10.0.0.1") is None
    assert sitemap.locate() is None


def test_csv_by_serial_and_by_ip(tmp_path: Path) -> None:
    by_serial = load_sitemap(write(tmp_path, "s.csv", "serial,rack\nHTM3X01,R9\n"))
    assert by_serial.locate(serial=" htm3x01 ") == Location(rack="R9")
    by_ip = load_sitemap(write(tmp_path, "i.csv", "ip,slot\n10.0.0.17,4\nfd00::0001,5\n"))
    assert by_ip.locate(ip="10.0.0.17") == Location(slot="4")
    assert by_ip.locate(ip="fd00::1") == Location(slot="5")
    assert by_ip.locate(ip="not an ip") is None


def test_mac_wins_over_serial_over_ip(tmp_path: Path) -> None:
    sitemap = load_sitemap(
        write(
            tmp_path,
            "map.yaml",
            """
            - {mac: "AA:BB:CC:DD:EE:01", rack: by-mac}
            - {serial: SN1, rack: by-serial}
            - {ip: 10.0.0.5, rack: by-ip}
            """,
        )
    )
    assert sitemap.locate(ip="10.0.0.5", mac="aa:bb:cc:dd:ee:01", serial="SN1") == Location(rack="by-mac")
    assert sitemap.locate(ip="10.0.0.5", serial="SN1") == Location(rack="by-serial")
    # A miner whose MAC is not mapped (or whose DHCP lease moved) still falls back to the next identity.
    assert sitemap.locate(ip="10.0.0.5", mac="AA:BB:CC:DD:EE:99", serial="other") == Location(rack="by-ip")
    assert sitemap.locate(ip="10.0.0.6", mac="AA:BB:CC:DD:EE:99") is None


def test_blank_lines_and_comments_keep_line_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, "map.csv", "# site map\nmac,rack\n\n# row comment\nAA:BB:CC:DD:EE:01,R1\nbad,R2\n")
    assert problems(path) == [':6: mac: "bad" is not a MAC address (use AA:BB:CC:DD:EE:FF)']


def test_csv_problems_with_line_and_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "map.csv",
        """
        mac,rak,slot,colour
        AA:BB:CC:DD:EE:01,R1,1,red
        AA:BB:CC:DD:EE:0G,R1,2,red
        ,R1,3,red
        aa-bb-cc-dd-ee-01,R2,1,blue
        AA:BB:CC:DD:EE:02,R2,2,blue,extra
        """,
    )
    assert problems(path) == [
        ":1: rak: unknown column; did you mean 'rack'?",
        ":1: colour: unknown column (known: mac, serial, ip, container, rack, shelf, slot, pdu, outlet)",
        ':3: mac: "AA:BB:CC:DD:EE:0G" is not a MAC address (use AA:BB:CC:DD:EE:FF)',
        ":4: mac: is empty",
        ":5: mac: duplicate mac AA:BB:CC:DD:EE:01 (first on line 2)",
        ":6: row: has 5 fields but the header has 4",
    ]
    with pytest.raises(ConfigError) as caught:
        load_sitemap(path)
    assert len(caught.value.problems) == 6


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("rack,slot", ":1: header: needs an identity column: mac, serial or ip"),
        ("mac,rak,rack", ":1: rak: unknown column; did you mean 'rack'?"),
        ("mac,rack,rack", ":1: rack: duplicate column"),
    ],
)
def test_csv_header_problems(tmp_path: Path, header: str, expected: str) -> None:
    path = write(tmp_path, "map.csv", f"{header}\nAA:BB:CC:DD:EE:01,R1,R2\n")
    assert problems(path) == [expected]


def test_bad_and_duplicate_ips(tmp_path: Path) -> None:
    path = write(tmp_path, "map.csv", "ip,rack\n10.0.0.1,R1\n10.0.0.256,R1\n10.0.0.01,R2\n10.0.0.1,R3\n")
    assert problems(path) == [
        ':3: ip: "10.0.0.256" is not an IP address',
        ':4: ip: "10.0.0.01" is not an IP address',
        ":5: ip: duplicate ip 10.0.0.1 (first on line 2)",
    ]


def test_yaml_problems_with_line_and_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "map.yml",
        """
        - mac: AA:BB:CC:DD:EE:01
          rack: R1
          slot: 3
        - mac: AA:BB:CC:DD:EE:02
          serial: SN2
        - ip: 10.0.0.300
        - mac: aa:bb:cc:dd:ee:01
          rak: R2
        - serial: SN5
          slot: [1, 2]
        - just text
        """,
    )
    assert problems(path) == [
        ':6: [2].ip: "10.0.0.300" is not an IP address',
        ":7: [3].mac: duplicate mac AA:BB:CC:DD:EE:01 (first on line 1)",
        ":8: [3].rak: unknown key; did you mean 'rack'?",
        ":10: [4].slot: expected text, got a list",
        ":11: [5]: expected a mapping, got text",
    ]


def test_yaml_entries_load(tmp_path: Path) -> None:
    path = write(tmp_path, "map.yaml", "- {serial: SN1, container: 7, rack: R1, pdu: ~}\n")
    assert load_sitemap(path).locate(serial="sn1") == Location(container="7", rack="R1")


def test_file_level_problems(tmp_path: Path) -> None:
    assert problems(write(tmp_path, "map.txt", "mac\n")) == [": site map must be a .csv, .yaml or .yml file"]
    assert problems(write(tmp_path, "empty.csv", "\n")) == [
        ": is empty (needs a header row such as mac,container,rack,shelf,slot)"
    ]
    assert problems(tmp_path / "absent.csv") == [": cannot read: No such file or directory"]
    assert problems(write(tmp_path, "bad.yaml", "- {mac: [\n"))[0].startswith(":2: YAML syntax error:")
    assert problems(write(tmp_path, "map.yaml", "mac: AA:BB:CC:DD:EE:01\n")) == [
        ":1: expected a list (start each item with '- '), got a mapping"
    ]


def test_normalize_mac() -> None:
    assert normalize_mac("aa:bb:cc:dd:ee:ff") == "AA:BB:CC:DD:EE:FF"
    assert normalize_mac("AA-BB-CC-DD-EE-FF") == "AA:BB:CC:DD:EE:FF"
    assert normalize_mac("aabb.ccdd.eeff") == "AA:BB:CC:DD:EE:FF"
    assert normalize_mac("AA:BB:CC:DD:EE") is None
    assert normalize_mac("AA:BB:CC:DD:EE:FG") is None


def test_labels_have_every_location_column() -> None:
    assert Location(rack="R1", slot="4").labels() == {
        "container": "",
        "rack": "R1",
        "shelf": "",
        "slot": "4",
        "pdu": "",
        "outlet": "",
    }


def test_example_sitemap_is_valid() -> None:
    sitemap = load_sitemap(REPO / "deploy" / "sitemap.example.csv")
    assert sitemap.locate(mac="aa:bb:cc:00:00:02") == Location("C01", "R01", "1", "2", "pdu-c01-r01", "2")


def test_each_row_is_matched_by_its_first_filled_identity_and_helper_columns_are_ignored(tmp_path: Path) -> None:
    """What ``scan --write-sitemap`` writes: mac, serial and ip on every row (the strongest one filled in is the
    row's identity, the rest are for the technician), plus model and state, which the agent ignores."""
    path = write(tmp_path, "map.csv",
                 "mac,serial,ip,container,rack,shelf,slot,pdu,outlet,model,state\n"
                 "AA:BB:CC:DD:EE:01,SN1,10.0.0.1,C1,R1,1,1,,,S19 Pro,hashing\n"
                 ",SN2,10.0.0.2,C1,R1,1,2,,,S19 XP,hashing\n"
                 ",,10.0.0.3,C1,R1,1,3,,,,login\n")
    sitemap = load_sitemap(path)
    assert sitemap.locate(mac="aa:bb:cc:dd:ee:01").slot == "1"  # type: ignore[union-attr]
    assert sitemap.locate(serial="sn2").slot == "2"  # type: ignore[union-attr]
    assert sitemap.locate(ip="10.0.0.3").slot == "3"  # type: ignore[union-attr]
    # The helpers of a row matched by MAC are not identities: another miner at 10.0.0.1 is not "slot 1".
    assert sitemap.locate(ip="10.0.0.1") is None and sitemap.locate(serial="SN1") is None
    assert len(sitemap) == 3
