"""boto3 checks against Tributary: a put/get round trip and a paginated
ListStreams over three streams.

Usage: python3 boto3_check.py http://127.0.0.1:PORT

Prints one "ok - <name>" / "not ok - <name>: <why>" line per check and exits
non-zero if any check failed.
"""

import sys
import time

import boto3
from botocore.config import Config

failed = 0


class CheckError(Exception):
    pass


def check(cond, why):
    if not cond:
        raise CheckError(why)


def step(name, fn):
    """Runs fn as one check; returns its result, or None if it failed."""
    global failed
    try:
        v = fn()
    except CheckError as e:
        failed += 1
        print(f"not ok - boto3: {name}: {e}", flush=True)
        return None
    except Exception as e:  # noqa: BLE001 - any client error fails the check
        failed += 1
        why = " ".join(f"{type(e).__name__}: {e}".split())
        print(f"not ok - boto3: {name}: {why}", flush=True)
        return None
    print(f"ok - boto3: {name}", flush=True)
    return v if v is not None else True


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


def main(endpoint):
    client = boto3.client(
        "kinesis",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )

    names = ["boto3-page-a", "boto3-page-b", "boto3-page-c"]

    def create_all():
        for n in names:
            client.create_stream(StreamName=n, ShardCount=1)
        for n in names:
            wait_active(client, n)

    if not step("create 3 streams and wait ACTIVE", create_all):
        return

    stream = names[0]
    payload = b"\x00boto3 \xffround trip\n"

    def put():
        out = client.put_record(StreamName=stream, Data=payload, PartitionKey="pk-1")
        check(out.get("ShardId") == "shardId-000000000000", f"ShardId {out.get('ShardId')!r}")
        check(str(out.get("SequenceNumber", "")).isdigit(), f"SequenceNumber {out.get('SequenceNumber')!r}")
        return out

    put_out = step("put_record binary payload", put)

    def get():
        it = client.get_shard_iterator(
            StreamName=stream,
            ShardId="shardId-000000000000",
            ShardIteratorType="TRIM_HORIZON",
        )["ShardIterator"]
        out = client.get_records(ShardIterator=it)
        recs = out["Records"]
        check(len(recs) == 1, f"want 1 record, got {len(recs)}")
        r = recs[0]
        check(r["Data"] == payload, f"Data {r['Data']!r}, want {payload!r}")
        check(r["PartitionKey"] == "pk-1", f"PartitionKey {r['PartitionKey']!r}")
        check(
            r["SequenceNumber"] == put_out["SequenceNumber"],
            f"SequenceNumber {r['SequenceNumber']} != put's {put_out['SequenceNumber']}",
        )
        check(out.get("NextShardIterator"), "no NextShardIterator")
        check(out.get("MillisBehindLatest") == 0, f"MillisBehindLatest {out.get('MillisBehindLatest')!r}")

    if put_out:
        step("get_records round trip", get)

    def paginate():
        pages = client.get_paginator("list_streams").paginate(
            PaginationConfig={"PageSize": 1}
        )
        seen, npages = [], 0
        for page in pages:
            npages += 1
            check(len(page["StreamNames"]) <= 1, f"page of {len(page['StreamNames'])} names with PageSize 1")
            seen.extend(page["StreamNames"])
            check(npages <= 20, "more than 20 pages; pagination does not end")
        check(sorted(seen) == sorted(set(seen)), f"duplicate names across pages: {seen}")
        check(set(names) <= set(seen), f"got {seen}, want all of {names}")
        check(npages >= len(names), f"{npages} pages for {len(seen)} names with PageSize 1")

    step("list_streams paginator (PageSize 1) yields all 3 names", paginate)

    def delete_all():
        for n in names:
            client.delete_stream(StreamName=n)

    step("delete the 3 streams", delete_all)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python3 boto3_check.py http://127.0.0.1:PORT", file=sys.stderr)
        sys.exit(2)
    try:
        main(sys.argv[1])
    except Exception as e:  # noqa: BLE001
        failed += 1
        print(f"not ok - boto3: unexpected error: {type(e).__name__}: {e}", flush=True)
    sys.exit(1 if failed else 0)
