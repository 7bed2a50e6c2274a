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
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  RegisterStreamConsumerCommand,
  DescribeStreamConsumerCommand,
  SubscribeToShardCommand,
  PutRecordCommand,
  DeleteStreamCommand,
} from "@aws-sdk/client-kinesis";
import { CheckError, check, checks, sleep } from "./checks.mjs";

const { client, step, run } = checks("subscribe.mjs");

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

await run(main);
