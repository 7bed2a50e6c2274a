"""A PutRecord and a GetRecords of that record on every shard of a stream,
each retried until it succeeds, spread over the endpoints given (a shard
goes to one node, in turn); bench/cluster.sh times it after a
full-cluster restart.

Usage: python3 cluster_check.py STREAM ENDPOINT...

Prints how many shards passed, the calls retried, and the seconds taken;
exits 1 if a shard still fails after 5 minutes.
"""

import sys
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

DEADLINE_S = 300


def client(endpoint):
    return boto3.client(
        "kinesis",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}, max_pool_connections=16),
    )


def main(stream, endpoints):
    start = time.monotonic()
    clients = [client(e) for e in endpoints]
    shards, token = [], None
    while True:
        try:
            kw = {"NextToken": token} if token else {"StreamName": stream}
            out = clients[0].list_shards(**kw)
        except Exception:  # noqa: BLE001 - not up yet: retried
            if time.monotonic() - start > DEADLINE_S:
                raise
            time.sleep(0.05)
            continue
        shards += out["Shards"]
        token = out.get("NextToken")
        if not token:
            break
    retries = [0] * len(shards)

    def one(i):
        c = clients[i % len(clients)]
        shard = shards[i]
        data = f"after restart {i}".encode()

        def until(fn):
            while True:
                try:
                    return fn()
                except Exception:  # noqa: BLE001 - retried until the deadline
                    retries[i] += 1
                    if time.monotonic() - start > DEADLINE_S:
                        raise
                    time.sleep(0.05)

        put = until(lambda: c.put_record(
            StreamName=stream, Data=data, PartitionKey="p", ExplicitHashKey=shard["HashKeyRange"]["StartingHashKey"]))
        if put["ShardId"] != shard["ShardId"]:
            raise RuntimeError(f"record for {shard['ShardId']} went to {put['ShardId']}")

        def read():
            it = c.get_shard_iterator(StreamName=stream, ShardId=shard["ShardId"],
                                      ShardIteratorType="AT_SEQUENCE_NUMBER",
                                      StartingSequenceNumber=put["SequenceNumber"])["ShardIterator"]
            recs = c.get_records(ShardIterator=it, Limit=1)["Records"]
            if not recs or recs[0]["Data"] != data:
                raise RuntimeError(f"{shard['ShardId']}: read {recs}")

        until(read)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(len(shards))))
    print(f"{len(shards)} shards written and read in {time.monotonic() - start:.2f} s "
          f"after the nodes were ready; {sum(retries)} calls retried")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1], sys.argv[2:])
