// Seed 002 walkthrough with the AWS SDK for JavaScript v3 against Tributary.
//
// Usage: node seed002.mjs http://127.0.0.1:PORT
//
// Prints one "ok - <name>" / "not ok - <name>: <why>" line per check and
// exits non-zero if any check failed. The SDK speaks HTTP/2 to Kinesis by
// default, also to http:// endpoints (h2c prior knowledge); that is intended.
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  PutRecordCommand,
  GetShardIteratorCommand,
  GetRecordsCommand,
  DeleteStreamCommand,
} from "@aws-sdk/client-kinesis";
import { isDeepStrictEqual } from "node:util";
import { CheckError, check, checks, sleep } from "./checks.mjs";

const { client, step, run } = checks("seed002.mjs");

const StreamName = "my-orders-stream";
const order = { orderId: "ord_12345", userId: "user_67890", amount: 99.99 };

async function main() {
  const created = await step("CreateStream my-orders-stream", () =>
    client.send(new CreateStreamCommand({ StreamName, ShardCount: 1 })),
  );
  if (created === undefined) return;

  const active = await step("stream becomes ACTIVE", async () => {
    let status;
    for (let i = 0; i < 100; i++) {
      const out = await client.send(new DescribeStreamSummaryCommand({ StreamName }));
      status = out.StreamDescriptionSummary?.StreamStatus;
      if (status === "ACTIVE") return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new CheckError(`still ${status} after 10s`);
  });
  if (!active) return;

  const put = await step("PutRecord order for user_67890", async () => {
    const out = await client.send(
      new PutRecordCommand({
        StreamName,
        Data: Buffer.from(JSON.stringify(order)),
        PartitionKey: "user_67890",
      }),
    );
    check(typeof out.SequenceNumber === "string" && /^\d+$/.test(out.SequenceNumber),
      `SequenceNumber ${JSON.stringify(out.SequenceNumber)} is not a decimal string`);
    check(out.ShardId === "shardId-000000000000", `ShardId ${JSON.stringify(out.ShardId)}`);
    console.log(`# Record sequenced with: ${out.SequenceNumber}`);
    return out;
  });
  if (!put) return;

  const iter = await step("GetShardIterator TRIM_HORIZON shardId-000000000000", async () => {
    const out = await client.send(
      new GetShardIteratorCommand({
        StreamName,
        ShardId: "shardId-000000000000",
        ShardIteratorType: "TRIM_HORIZON",
      }),
    );
    check(typeof out.ShardIterator === "string" && out.ShardIterator !== "", "no ShardIterator");
    return out.ShardIterator;
  });
  if (!iter) return;

  const got = await step("GetRecords returns the record", async () => {
    const out = await client.send(new GetRecordsCommand({ ShardIterator: iter }));
    check(Array.isArray(out.Records) && out.Records.length === 1,
      `want 1 record, got ${out.Records?.length}`);
    check(typeof out.NextShardIterator === "string" && out.NextShardIterator !== "",
      "no NextShardIterator");
    return out.Records[0];
  });
  if (got) {
    await step("record Data JSON equals the order", () => {
      check(got.Data instanceof Uint8Array, `Data is ${typeof got.Data}, want Uint8Array`);
      const text = Buffer.from(got.Data).toString();
      let parsed;
      try {
        parsed = JSON.parse(text);
      } catch (e) {
        throw new CheckError(`Data ${JSON.stringify(text)} is not JSON: ${e.message}`);
      }
      check(isDeepStrictEqual(parsed, order), `Data ${text}, want ${JSON.stringify(order)}`);
    });
    await step("record PartitionKey is user_67890", () =>
      check(got.PartitionKey === "user_67890", `PartitionKey ${JSON.stringify(got.PartitionKey)}`));
    await step("record SequenceNumber equals PutRecord's", () =>
      check(got.SequenceNumber === put.SequenceNumber,
        `got ${got.SequenceNumber}, PutRecord said ${put.SequenceNumber}`));
    await step("record ApproximateArrivalTimestamp is a Date", () =>
      check(got.ApproximateArrivalTimestamp instanceof Date &&
        !Number.isNaN(got.ApproximateArrivalTimestamp.getTime()),
        `ApproximateArrivalTimestamp ${got.ApproximateArrivalTimestamp}`));
  }

  await step("DeleteStream my-orders-stream", () =>
    client.send(new DeleteStreamCommand({ StreamName })));
}

await run(main);
