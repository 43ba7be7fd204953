"""``pool_api:``: the pool accounts whose stats API is read to reconcile the pool's hashrate per worker with the
miners' own (collectors/poolapi/, docs/pools.md)::

    pool_api:
      interval: 60s                      # at least 10s: the pools ask for about one request per 5 s
      accounts:
        - name: braiins                  # the pool label
          api: braiins                   # the only kind read today
          token_file: braiins.token      # the access profile's read-only token (or token_env)
          url: https://pool.braiins.com  # default
          coin: btc                      # default
          normal_gap: 0.03               # the gap that is normal for this account (default 3 %)
"""

from __future__ import annotations

import math
import re

import yaml

from ..settings import PoolApiAccount, PoolApiConfig
from ..yamlread import is_null
from .reader import Reader, read_secret

APIS = {"braiins": "https://pool.braiins.com"}
_KEYS = ("interval", "timeout", "accounts")
_ACCOUNT_KEYS = ("name", "api", "url", "coin", "token_file", "token_env", "normal_gap")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def read_pool_api(r: Reader, node: yaml.Node) -> PoolApiConfig:
    y = r.y
    if is_null(node):
        return PoolApiConfig()
    m = y.mapping(node, "pool_api", _KEYS) or {}
    interval = y.duration(m["interval"], "pool_api.interval") if "interval" in m else 60.0
    if interval is not None and interval < 10.0:
        y.add(m["interval"], "pool_api.interval", "at least 10s (the pools' APIs allow about one request per 5 s)")
        interval = None
    timeout = y.duration(m["timeout"], "pool_api.timeout") if "timeout" in m else 20.0
    accounts = []
    names: set[str] = set()
    for i, item in enumerate((y.sequence(m["accounts"], "pool_api.accounts") or []) if "accounts" in m else []):
        where = f"pool_api.accounts[{i}]"
        a = y.mapping(item, where, _ACCOUNT_KEYS)
        if a is None:
            continue
        missing = [k for k in ("name", "api") if k not in a]
        if missing or not ("token_file" in a or "token_env" in a):
            y.add(item, where, "missing " + ", ".join([*missing, *([] if "token_file" in a or "token_env" in a
                                                                  else ["token_file"])]))
            continue
        name = y.string(a["name"], f"{where}.name")
        if name is not None and not _NAME.fullmatch(name):
            y.add(a["name"], f"{where}.name", "letters, digits, '.', '_' or '-' (it is the pool label)")
            name = None
        elif name in names:
            y.add(a["name"], f"{where}.name", f'"{name}" is used twice')
            name = None
        api = y.choice(a["api"], f"{where}.api", tuple(APIS), "pool API")
        url = y.string(a["url"], f"{where}.url") if "url" in a else APIS.get(api or "")
        if "url" in a and url is not None and not url.startswith(("http://", "https://")):
            y.add(a["url"], f"{where}.url", "expected an http:// or https:// URL")
            url = None
        coin = y.string(a["coin"], f"{where}.coin") if "coin" in a else "btc"
        gap = 0.03
        if "normal_gap" in a:
            value = y.scalar(a["normal_gap"])
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                    or not 0 <= value < 1:
                y.add(a["normal_gap"], f"{where}.normal_gap", "expected a share from 0 to below 1 (0.03: 3 %)")
                value = None
            gap = float(value) if value is not None else math.nan
        token = read_secret(r, a, where, "token")
        if None in (name, api, url, coin, token) or math.isnan(gap):
            continue
        assert name is not None and api is not None and url is not None and coin is not None and token is not None
        names.add(name)
        accounts.append(PoolApiAccount(name=name, api=api, url=url, coin=coin, token=token, normal_gap=gap))
    return PoolApiConfig(interval=interval or 60.0, timeout=timeout or 20.0, accounts=tuple(accounts))
