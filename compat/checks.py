"""Shared pieces of the boto3 compatibility checks: a client for the server
under test, one "ok - boto3: <name>" / "not ok - boto3: <name>: <why>" line
per check, and an exit status that says whether any failed."""

import sys
import time

import boto3
from botocore.config import Config


class CheckError(Exception):
    pass


def check(cond, why):
    if not cond:
        raise CheckError(why)


def kinesis_client(endpoint, **config):
    return boto3.client(
        "kinesis",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, **config),
    )


def wait_active(client, name):
    status = None
    for _ in range(100):
        status = client.describe_stream_summary(StreamName=name)[
            "StreamDescriptionSummary"
        ]["StreamStatus"]
        if status == "ACTIVE":
            return True
        time.sleep(0.1)
    raise CheckError(f"{name} still {status} after 10s")


class Checks:
    def __init__(self):
        self.failed = 0

    def step(self, name, fn):
        """Runs fn as one check; returns its result, or None if it failed."""
        try:
            v = fn()
        except CheckError as e:
            self.failed += 1
            print(f"not ok - boto3: {name}: {e}", flush=True)
            return None
        except Exception as e:  # noqa: BLE001 - any client error fails the check
            self.failed += 1
            why = " ".join(f"{type(e).__name__}: {e}".split())
            print(f"not ok - boto3: {name}: {why}", flush=True)
            return None
        print(f"ok - boto3: {name}", flush=True)
        return v if v is not None else True

    def run(self, script, main):
        """Calls main with the endpoint from the command line and exits."""
        if len(sys.argv) != 2:
            print(f"usage: python3 {script} http://127.0.0.1:PORT", file=sys.stderr)
            sys.exit(2)
        try:
            main(sys.argv[1])
        except Exception as e:  # noqa: BLE001
            self.failed += 1
            print(f"not ok - boto3: unexpected error: {type(e).__name__}: {e}", flush=True)
        sys.exit(1 if self.failed else 0)
