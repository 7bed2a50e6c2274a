// SubscribeToShard with the AWS SDK for JavaScript v3 against Tributary:
// register a consumer, wait until it is ACTIVE, subscribe, put a record and
// receive it in the event stream.
//
// Usage: node subscribe.mjs http://127.0.0.1:PORT
//
// Prints one "ok - <name>" / "not ok - <name>: <why>" line per check and
// exits non-zero if any check failed. The SDK speaks HTTP/2 to Kinesis,
// prior knowledge over http://, which event streams need in this SDK.
import {
  KinesisClient,
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  RegisterStreamConsumerCommand,
  DescribeStreamConsumerCommand,
  SubscribeToShardCommand,
  PutRecordCommand,
  DeleteStreamCommand,
} from "@aws-sdk/client-kinesis";

const endpoint = process.argv[2];
if (!endpoint) {
  console.error("usage: node subscribe.mjs http://127.0.0.1:PORT");
  process.exit(2);
}

const client = new KinesisClient({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
  maxAttempts: 1,
});

let failed = 0;
const ok = (name) => console.log(`ok - js: ${name}`);
const notOk = (name, why) => {
  failed++;
  console.log(`not ok - js: ${name}: ${String(why).replace(/\s+/g, " ")}`);
};
const errText = (err) => `${err?.name ?? "Error"}: ${err?.message ?? err}`;

async function step(name, fn) {
  try {
    const v = await fn();
    ok(name);
    return v ?? true;
  } catch (err) {
    notOk(name, err instanceof CheckError ? err.message : errText(err));
    return undefined;
  }
}
class CheckError extends Error {}
const check = (cond, why) => {
  if (!cond) throw new CheckError(why);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const StreamName = "js-subscribe";

async function main() {
  const created = await step(`CreateStream ${StreamName}`, async () => {
    await client.send(new CreateStreamCommand({ StreamName, ShardCount: 1 }));
    for (let i = 0; i < 100; i++) {
      const out = await client.send(new DescribeStreamSummaryCommand({ StreamName }));
      if (out.StreamDescriptionSummary.StreamStatus === "ACTIVE") return out.StreamDescriptionSummary.StreamARN;
      await sleep(100);
    }
    throw new CheckError("stream not ACTIVE");
  });
  if (!created) return;

  const consumerARN = await step("RegisterStreamConsumer, wait until ACTIVE", async () => {
    const reg = await client.send(new RegisterStreamConsumerCommand({ StreamARN: created, ConsumerName: "js-app" }));
    const arn = reg.Consumer.ConsumerARN;
    check(arn.startsWith(`${created}/consumer/js-app:`), `ConsumerARN ${arn}`);
    for (let i = 0; i < 100; i++) {
      const d = await client.send(new DescribeStreamConsumerCommand({ ConsumerARN: arn }));
      if (d.ConsumerDescription.ConsumerStatus === "ACTIVE") return arn;
      await sleep(100);
    }
    throw new CheckError("consumer not ACTIVE");
  });
  if (!consumerARN) return;

  await step("SubscribeToShard receives a record put during the session", async () => {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 20000);
    try {
      const out = await client.send(new SubscribeToShardCommand({
        ConsumerARN: consumerARN,
        ShardId: "shardId-000000000000",
        StartingPosition: { Type: "LATEST" },
      }), { abortSignal: abort.signal });
      const put = await client.send(new PutRecordCommand({
        StreamName, PartitionKey: "k", Data: new TextEncoder().encode("hello subscriber"),
      }));
      for await (const ev of out.EventStream) {
        const recs = ev.SubscribeToShardEvent?.Records ?? [];
        if (recs.length === 0) continue;
        const text = new TextDecoder().decode(recs[0].Data);
        check(text === "hello subscriber", `Data ${JSON.stringify(text)}`);
        check(recs[0].SequenceNumber === put.SequenceNumber,
          `SequenceNumber ${recs[0].SequenceNumber}, PutRecord said ${put.SequenceNumber}`);
        check(typeof ev.SubscribeToShardEvent.ContinuationSequenceNumber === "string",
          "no ContinuationSequenceNumber");
        return;
      }
      throw new CheckError("event stream ended without the record");
    } finally {
      clearTimeout(timer);
      abort.abort();
    }
  });

  await step(`DeleteStream ${StreamName} EnforceConsumerDeletion`, () =>
    client.send(new DeleteStreamCommand({ StreamName, EnforceConsumerDeletion: true })));
}

try {
  await main();
} catch (err) {
  notOk("unexpected error", errText(err));
} finally {
  client.destroy();
}
process.exit(failed ? 1 : 0);
