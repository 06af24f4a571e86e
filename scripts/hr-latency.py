#!/usr/bin/env python3
"""HR → Confluence latency (BENCHMARKS.md, "HR termination to Confluence"): how long from a
termination in BambooHR until the person's Confluence Cloud account is deactivated, with
`roster serve` on default settings, by webhook and by polling.

    scripts/hr-latency.py [--rounds 10] [--poll-interval 30]

Everything runs as a user would run it: `roster sim bamboohr`, `roster sim confluence-cloud`
and `roster serve` as processes on loopback (release build), the termination made through the
BambooHR simulator's admin route, the account watched through the Confluence simulator's
state. Python standard library only.
"""

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/roster/target"))
ROSTER = TARGET / "release" / "roster"


def call(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read()
        return json.loads(text) if text else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sim(kind, *args):
    p = subprocess.Popen([str(ROSTER), "sim", kind, "--listen", "127.0.0.1:0", *args],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return p, json.loads(p.stdout.readline())


def spaces():
    keys = []
    for line in (ROOT / "examples/acme/policy.toml").read_text().splitlines():
        if line.startswith('key = "'):
            keys += ["--space", line.split('"')[1]]
    return keys


def cloud_users(cloud):
    state = call("GET", cloud["site_url"] + "/_sim/state")
    return {u["externalId"]: u for u in state["users"] if u.get("externalId")}


def run(mode, rounds, poll_interval):
    port = free_port()
    procs = []
    try:
        hook = ["--webhook-url", f"http://127.0.0.1:{port}/webhooks/bamboo"] if mode == "webhook" else []
        p, bamboo = sim("bamboohr", *hook)
        procs.append(p)
        p, cloud = sim("confluence-cloud", *spaces())
        procs.append(p)
        work = tempfile.mkdtemp()
        interval = 3600 if mode == "webhook" else poll_interval
        secret = 'webhook_secret_env = "BAMBOO_HOOK"\n' if mode == "webhook" else ""
        Path(work, "roster.toml").write_text(f"""database = "sqlite://roster.db"
policy = "{ROOT / 'examples/acme/policy.toml'}"

[sources.bamboo]
kind = "bamboohr"
base_url = "{bamboo['base_url']}"
api_key_env = "BAMBOO_KEY"
{secret}poll_interval_secs = {interval}
[sources.bamboo.mapping]
time_zone = "Europe/Paris"
custom = {{ cost_center = "cost_center" }}

[systems."acme.atlassian.net"]
kind = "confluence_cloud"
site_url = "{cloud['site_url']}"
scim_base_url = "{cloud['scim_base_url']}"
email = "{cloud['email']}"
api_token_env = "ATLASSIAN_TOKEN"
scim_key_env = "ATLASSIAN_SCIM_KEY"
""")
        env = dict(os.environ, BAMBOO_KEY=bamboo["api_key"],
                   BAMBOO_HOOK=bamboo.get("webhook_private_key", ""),
                   ATLASSIAN_TOKEN=cloud["api_token"], ATLASSIAN_SCIM_KEY=cloud["scim_key"])
        serve = subprocess.Popen([str(ROSTER), "--config", str(Path(work, "roster.toml")),
                                  "serve", "--listen", f"127.0.0.1:{port}"],
                                 cwd=work, env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        procs.append(serve)
        deadline = time.time() + 120
        while True:
            users = cloud_users(cloud)
            if sum(1 for u in users.values() if u["active"]) > 250:
                break
            if time.time() > deadline:
                sys.exit("initial provisioning did not finish in 120 s")
            time.sleep(0.2)
        time.sleep(2)
        active = sorted(e for e, u in cloud_users(cloud).items() if u["active"])
        bamboo_root = bamboo["base_url"].split("/api/gateway.php")[0]
        yesterday = (date.today() - timedelta(days=1)).isoformat()
        times = []
        rng = random.Random(7)
        for employee in active[10:10 + rounds]:
            if mode == "poll":
                # A termination lands anywhere in the interval, as real ones do.
                time.sleep(rng.uniform(0, interval))
            t0 = time.monotonic()
            call("PATCH", f"{bamboo_root}/_sim/employees/{employee}",
                 {"status": "Inactive", "terminationDate": yesterday})
            while cloud_users(cloud)[employee]["active"]:
                if time.monotonic() - t0 > interval + 60:
                    sys.exit(f"{employee} still active after {interval + 60} s")
                time.sleep(0.02)
            times.append(time.monotonic() - t0)
            # Rounds apart, so each measures one change on a quiet service.
            time.sleep(1 if mode == "webhook" else 0)
        return times
    finally:
        for p in procs:
            p.kill()
            p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--poll-interval", type=int, default=30)
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "--locked", "-p", "roster",
                    "--bin", "roster"], cwd=ROOT, check=True,
                   env=dict(os.environ, CARGO_TARGET_DIR=str(TARGET)))
    for mode, rounds in (("webhook", args.rounds), ("poll", max(5, args.rounds // 2))):
        t = run(mode, rounds, args.poll_interval)
        print(f"{mode}: {len(t)} terminations, median {statistics.median(t):.2f} s, "
              f"max {max(t):.2f} s" + (f" (poll interval {args.poll_interval} s)" if mode == "poll" else ""))


if __name__ == "__main__":
    main()
