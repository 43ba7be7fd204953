"""The read-only guard's logins (docs/architecture.md, "Read-only": POST only to log in or to read-only queries): the Braiins
GraphQL login mutation and the LuCI login form pass exactly as written; anything dressed up like them does not."""

from __future__ import annotations

import pytest

from collectors.asic.http import GRAPHQL_LOGIN, check_read_only, graphql_login_body


def test_graphql_login_and_queries_pass() -> None:
    check_read_only("POST", "http://h/graphql", graphql_login_body("root", "pw"))
    # whitespace and line breaks do not matter
    check_read_only("POST", "http://h/graphql", {"query": GRAPHQL_LOGIN.replace(" ", "\n  "),
                                                 "variables": {"username": "root", "password": "x"}})
    check_read_only("POST", "http://h/graphql", {"query": "{ bosminer { info { fans { name rpm } } } }"})
    check_read_only("POST", "http://h/cgi-bin/luci", {"luci_username": "root", "luci_password": "x"})


@pytest.mark.parametrize("body", [
    {"query": "mutation { bos { factoryReset { ... on VoidResult { void } } } }"},
    {"query": GRAPHQL_LOGIN + " mutation { bosminer { stop } }", "variables": {"username": "a", "password": "b"}},
    {"query": GRAPHQL_LOGIN.replace("auth", "bos"), "variables": {"username": "a", "password": "b"}},
    {"query": GRAPHQL_LOGIN, "variables": {"username": "a", "password": "b", "newPassword": "c"}},
    {"query": "mutation ($password: String) { bos { setPassword(newPassword: $password) { void } } }",
     "variables": {"password": "x"}},
])
def test_other_graphql_mutations_are_refused(body: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        check_read_only("POST", "http://h/graphql", body)


@pytest.mark.parametrize("body", [
    None, {}, {"luci_username": "root"},
    {"luci_username": "root", "luci_password": "x", "cbi.apply": "1"},
])
def test_luci_posts_other_than_the_login_form_are_refused(body: object) -> None:
    with pytest.raises(ValueError):
        check_read_only("POST", "http://h/cgi-bin/luci", body)
    with pytest.raises(ValueError):
        check_read_only("POST", "http://h/cgi-bin/luci/admin/system/reboot", {"luci_username": "r", "luci_password": "x"})
