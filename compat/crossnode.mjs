// The AWS SDK for JavaScript v3 against three nodes of one Tributary
// cluster at once: a stream created through node A is written through
// node B and read through node C (GetRecords), and a SubscribeToShard
// session held on node C receives a record put through node A.
//
// Usage: node crossnode.mjs http://NODE-A http://NODE-B http://NODE-C
//
// Prints one "ok - js: <name>" / "not ok - js: <name>: <why>" line per
// check and exits non-zero if any check failed.
import {
  KinesisClient,
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  RegisterStreamConsumerCommand,
  DescribeStreamConsumerCommand,
  SubscribeToShardCommand,
  PutRecordsCommand,
  PutRecordCommand,
  GetShardIteratorCommand,
  GetRecordsCommand,
  DeleteStreamCommand,
} from "@aws-sdk/client-kinesis";
import { CheckError, check, checks, sleep } from "./checks.mjs";

const { client: a, step, run } = checks("crossnode.mjs");
const [, , , epB, epC] = process.argv;
if (!epB || !epC) {
  console.error("usage: node crossnode.mjs http://NODE-A http://NODE-B http://NODE-C");
  process.exit(2);
}
const clientFor = (endpoint) => new KinesisClient({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
  maxAttempts: 1,
});
const b = clientFor(epB);
const c = clientFor(epC);

const StreamName = "js-crossnode";
const ShardId = "shardId-000000000000";
const text = (d) => new TextDecoder().decode(d);

async function main() {
  const arn = await step(`CreateStream ${StreamName} through node A, ACTIVE through node B`, async () => {
    await a.send(new CreateStreamCommand({ StreamName, ShardCount: 1 }));
    for (let i = 0; i < 100; i++) {
      const out = await b.send(new DescribeStreamSummaryCommand({ StreamName }));
      if (out.StreamDescriptionSummary.StreamStatus === "ACTIVE") return out.StreamDescriptionSummary.StreamARN;
      await sleep(100);
    }
    throw new CheckError("stream not ACTIVE through node B");
  });
  if (!arn) return;

  const put = await step("PutRecords of 5 records through node B", async () => {
    const Records = [0, 1, 2, 3, 4].map((i) => ({ PartitionKey: `k${i}`, Data: new TextEncoder().encode(`cross ${i}`) }));
    const out = await b.send(new PutRecordsCommand({ StreamName, Records }));
    check(out.FailedRecordCount === 0, `FailedRecordCount ${out.FailedRecordCount}`);
    return out.Records.map((r) => r.SequenceNumber);
  });

  if (put) {
    await step("GetRecords through node C returns node B's 5 records in order", async () => {
      const it = await c.send(new GetShardIteratorCommand({ StreamName, ShardId, ShardIteratorType: "TRIM_HORIZON" }));
      const out = await c.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
      const got = out.Records.map((r) => `${r.SequenceNumber} ${r.PartitionKey} ${text(r.Data)}`);
      const want = put.map((s, i) => `${s} k${i} cross ${i}`);
      check(JSON.stringify(got) === JSON.stringify(want), `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    });
  }

  const consumerARN = await step("RegisterStreamConsumer through node B, ACTIVE through node C", async () => {
    const reg = await b.send(new RegisterStreamConsumerCommand({ StreamARN: arn, ConsumerName: "js-cross" }));
    const consumer = reg.Consumer.ConsumerARN;
    for (let i = 0; i < 100; i++) {
      const d = await c.send(new DescribeStreamConsumerCommand({ ConsumerARN: consumer }));
      if (d.ConsumerDescription.ConsumerStatus === "ACTIVE") return consumer;
      await sleep(100);
    }
    throw new CheckError("consumer not ACTIVE through node C");
  });

  if (consumerARN) {
    await step("SubscribeToShard on node C receives a record put through node A", async () => {
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), 20000);
      try {
        const out = await c.send(new SubscribeToShardCommand({
          ConsumerARN: consumerARN, ShardId, StartingPosition: { Type: "LATEST" },
        }), { abortSignal: abort.signal });
        const sent = await a.send(new PutRecordCommand({
          StreamName, PartitionKey: "sub", Data: new TextEncoder().encode("to node C's subscriber"),
        }));
        for await (const ev of out.EventStream) {
          const recs = ev.SubscribeToShardEvent?.Records ?? [];
          if (recs.length === 0) continue;
          check(text(recs[0].Data) === "to node C's subscriber", `Data ${JSON.stringify(text(recs[0].Data))}`);
          check(recs[0].SequenceNumber === sent.SequenceNumber,
            `SequenceNumber ${recs[0].SequenceNumber}, PutRecord through node A said ${sent.SequenceNumber}`);
          return;
        }
        throw new CheckError("event stream ended without the record");
      } finally {
        clearTimeout(timer);
        abort.abort();
      }
    });
  }

  await step(`DeleteStream ${StreamName} through node C`, () =>
    c.send(new DeleteStreamCommand({ StreamName, EnforceConsumerDeletion: true })));
}

try {
  await run(main);
} finally {
  b.destroy();
  c.destroy();
}
