"""boto3 subscribe_to_shard against Tributary: register a consumer, wait
until it is ACTIVE, subscribe, put a record and read it from the event
stream. boto3 reads the initial-response event before any other.

Usage: python3 boto3_subscribe.py http://127.0.0.1:PORT

Prints one "ok - <name>" / "not ok - <name>: <why>" line per check and exits
non-zero if any check failed.
"""

import time

from checks import CheckError, Checks, check, kinesis_client, wait_active

checks = Checks()
step = checks.step


def main(endpoint):
    client = kinesis_client(endpoint, read_timeout=30)
    name = "boto3-subscribe"

    def create():
        client.create_stream(StreamName=name, ShardCount=1)
        for _ in range(100):
            s = client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
            if s["StreamStatus"] == "ACTIVE":
                return s["StreamARN"]
            time.sleep(0.1)
        raise CheckError("stream not ACTIVE")

    stream_arn = step(f"create_stream {name}", create)
    if not stream_arn:
        return

    def register():
        arn = client.register_stream_consumer(StreamARN=stream_arn, ConsumerName="py-app")["Consumer"]["ConsumerARN"]
        check(arn.startswith(stream_arn + "/consumer/py-app:"), f"ConsumerARN {arn}")
        for _ in range(100):
            d = client.describe_stream_consumer(ConsumerARN=arn)["ConsumerDescription"]
            if d["ConsumerStatus"] == "ACTIVE":
                return arn
            time.sleep(0.1)
        raise CheckError("consumer not ACTIVE")

    consumer_arn = step("register_stream_consumer, wait until ACTIVE", register)
    if not consumer_arn:
        return

    def subscribe():
        out = client.subscribe_to_shard(
            ConsumerARN=consumer_arn,
            ShardId="shardId-000000000000",
            StartingPosition={"Type": "LATEST"},
        )
        put = client.put_record(StreamName=name, PartitionKey="k", Data=b"hello boto3")
        stream = out["EventStream"]
        try:
            for ev in stream:
                recs = ev.get("SubscribeToShardEvent", {}).get("Records", [])
                if not recs:
                    continue
                check(recs[0]["Data"] == b"hello boto3", f"Data {recs[0]['Data']!r}")
                check(recs[0]["SequenceNumber"] == put["SequenceNumber"],
                      f"SequenceNumber {recs[0]['SequenceNumber']}, put_record said {put['SequenceNumber']}")
                return
        finally:
            stream.close()
        raise CheckError("event stream ended without the record")

    step("subscribe_to_shard receives a record put during the session", subscribe)
    step(f"delete_stream {name} EnforceConsumerDeletion",
         lambda: client.delete_stream(StreamName=name, EnforceConsumerDeletion=True))


if __name__ == "__main__":
    checks.run("boto3_subscribe.py", main)
