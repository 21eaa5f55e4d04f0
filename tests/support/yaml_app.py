#!/usr/bin/env python3
"""An application that reads its database settings from a YAML file, as a
Rails `config/database.yml` or a service's `app.yml` would, and logs in to
PostgreSQL with exactly what it read (psql, no other source of a password).

Usage: yaml_app.py FILE KEY
KEY is a top-level mapping: either `url` (a connection URI) or host, port,
database, username and password. Prints who the server says we are.
"""
import os
import subprocess
import sys

import yaml


def main() -> int:
    path, key = sys.argv[1:3]
    with open(path, encoding="utf-8") as f:
        conf = yaml.safe_load(f)[key]
    env = {"PATH": os.environ["PATH"], "PGPASSFILE": "/nonexistent", "PGCONNECT_TIMEOUT": "10"}
    if "url" in conf:
        args = [conf["url"]]
    else:
        env["PGPASSWORD"] = str(conf["password"])
        args = ["-h", str(conf["host"]), "-p", str(conf["port"]),
                "-U", str(conf["username"]), "-d", str(conf["database"])]
    r = subprocess.run(["psql", "-X", "-w", *args, "-tAc", "select current_user"],
                       env=env, capture_output=True, text=True, check=False)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
