"""boto3 checks against Tributary: a put/get round trip, a paginated
ListStreams over three streams, and enhanced monitoring on and off.

Usage: python3 boto3_check.py http://127.0.0.1:PORT

Prints one "ok - <name>" / "not ok - <name>: <why>" line per check and exits
non-zero if any check failed.
"""

import time

from checks import CheckError, Checks, check, kinesis_client, wait_active

checks = Checks()
step = checks.step


def main(endpoint):
    client = kinesis_client(endpoint)

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

    all_metrics = [
        "IncomingBytes", "OutgoingRecords", "IteratorAgeMilliseconds", "IncomingRecords",
        "ReadProvisionedThroughputExceeded", "WriteProvisionedThroughputExceeded", "OutgoingBytes",
    ]

    def monitoring():
        out = client.enable_enhanced_monitoring(StreamName=stream, ShardLevelMetrics=["ALL"])
        check(out["CurrentShardLevelMetrics"] == [], f"Current {out['CurrentShardLevelMetrics']}, want []")
        check(out["DesiredShardLevelMetrics"] == all_metrics, f"Desired {out['DesiredShardLevelMetrics']}, want the seven")
        wait_active(client, stream)
        d = client.describe_stream(StreamName=stream)["StreamDescription"]
        got = d["EnhancedMonitoring"][0]["ShardLevelMetrics"]
        check(got == all_metrics, f"describe_stream EnhancedMonitoring {got}")
        out = client.disable_enhanced_monitoring(StreamName=stream, ShardLevelMetrics=["ALL"])
        check(out["CurrentShardLevelMetrics"] == all_metrics, f"Current {out['CurrentShardLevelMetrics']}")
        check(out["DesiredShardLevelMetrics"] == [], f"Desired {out['DesiredShardLevelMetrics']}, want []")
        wait_active(client, stream)

    step("enable/disable_enhanced_monitoring ALL and describe_stream", monitoring)

    def delete_all():
        for n in names:
            client.delete_stream(StreamName=n)

    step("delete the 3 streams", delete_all)


if __name__ == "__main__":
    checks.run("boto3_check.py", main)
