"""boto3 against three nodes of one Tributary cluster at once: a stream
created through node A is written through node B and read through node C,
listed through every node, and deleted through node A.

Usage: python3 boto3_crossnode.py http://NODE-A http://NODE-B http://NODE-C

Prints one "ok - boto3: <name>" / "not ok - boto3: <name>: <why>" line per
check and exits non-zero if any check failed.
"""

import sys
import time

from checks import CheckError, Checks, check, kinesis_client, wait_active

checks = Checks()
step = checks.step

STREAM = "boto3-crossnode"


def main(endpoints):
    a, b, c = (kinesis_client(e) for e in endpoints)

    def create():
        a.create_stream(StreamName=STREAM, ShardCount=2)
        wait_active(b, STREAM)

    if not step(f"create {STREAM} (2 shards) through node A, ACTIVE through node B", create):
        return

    def put():
        records = [{"Data": f"cross {i}".encode(), "PartitionKey": f"pk-{i}"} for i in range(8)]
        out = b.put_records(StreamName=STREAM, Records=records)
        check(out["FailedRecordCount"] == 0, f"FailedRecordCount {out['FailedRecordCount']}")
        return [(r["ShardId"], r["SequenceNumber"]) for r in out["Records"]]

    placed = step("put_records of 8 records through node B", put)

    def get():
        want = {}
        for i, (shard, seq) in enumerate(placed):
            want.setdefault(shard, []).append((seq, f"pk-{i}", f"cross {i}".encode()))
        for shard, records in want.items():
            it = c.get_shard_iterator(StreamName=STREAM, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
                "ShardIterator"
            ]
            got = [(r["SequenceNumber"], r["PartitionKey"], r["Data"]) for r in c.get_records(ShardIterator=it)["Records"]]
            check(got == records, f"{shard}: got {got}, want {records}")

    if placed:
        step("get_records through node C returns node B's records, per shard in order", get)

    def listed():
        for name, client in zip("ABC", (a, b, c)):
            names = client.list_streams()["StreamNames"]
            check(STREAM in names, f"node {name} lists {names}")

    step("list_streams through every node shows the stream", listed)

    def delete():
        a.delete_stream(StreamName=STREAM)
        for _ in range(50):
            try:
                c.describe_stream_summary(StreamName=STREAM)
            except c.exceptions.ResourceNotFoundException:
                return
            time.sleep(0.1)
        raise CheckError("node C still describes the stream 5s after node A deleted it")

    step("delete_stream through node A, ResourceNotFoundException through node C", delete)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print("usage: python3 boto3_crossnode.py http://NODE-A http://NODE-B http://NODE-C", file=sys.stderr)
        sys.exit(2)
    try:
        main(sys.argv[1:])
    except Exception as e:  # noqa: BLE001
        checks.failed += 1
        print(f"not ok - boto3: unexpected error: {type(e).__name__}: {e}", flush=True)
    sys.exit(1 if checks.failed else 0)
