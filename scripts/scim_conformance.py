"""Runs scim2-tester's check_server against a SCIM base URL and fails on any non-passing check.

Usage: python scim_conformance.py BASE_URL   (token in ROSTER_SCIM_TOKEN)

check_server is called directly (not through `scim2 test`) so that a discovery failure is a
counted, named failure instead of "Could not discover the server".
"""

import os
import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

PASSED = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE, Status.SKIPPED}


def main() -> int:
    url = sys.argv[1]
    token = os.environ["ROSTER_SCIM_TOKEN"]
    client = SyncSCIMClient(
        Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
    )
    results = check_server(client)
    failed = [r for r in results if r.status not in PASSED]
    for r in results:
        print(f"{r.status.name} {r.title}")
        if r.status not in PASSED and r.reason:
            print(f"  {r.reason}")
            if r.data is not None:
                print(f"  {str(r.data)[:2000]}")
    passed = len(results) - len(failed)
    print(f"scim2-tester: {passed} passed, {len(failed)} failed, {len(results)} checks")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
