"""The machine line: what the figures were measured on."""

from __future__ import annotations

import os
import platform
import sqlite3
import time

import redis

from bench.backends import REDIS_SERVER, server_version


def _memory_gib() -> float:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    return 0.0


def _redis_version() -> str:
    try:
        with redis.Redis.from_url(f"{REDIS_SERVER}/0") as connection:
            info = connection.info("server")
        return str(info.get("redis_version", "?"))
    except redis.RedisError:
        return "?"


def machine_line() -> str:
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}: nproc {os.cpu_count()}, {_memory_gib():.1f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"PostgreSQL {server_version()}, SQLite {sqlite3.sqlite_version}, Redis {_redis_version()}; "
        f"load average at start {load}"
    )
