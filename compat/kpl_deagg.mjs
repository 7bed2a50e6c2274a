// Checks that AWS's de-aggregator for Node.js, the npm package
// aws-kinesis-agg, reads the aggregates Tributary's kpl package writes.
//
// Usage: node kpl_deagg.mjs FIXTURE.json (run.sh writes the fixture and runs it)
//
// FIXTURE.json is written by the Go test TestCompatFixture (kpl/compat_test.go)
// with KPL_COMPAT_OUT set: aggregates and the records each holds. For each
// aggregate this checks, as "ok - js: kpl: <name>" / "not ok - js: kpl: <name>: <why>":
//   - deaggregateSync, checksums on, returns the records: partition keys,
//     data, sub-sequence numbers, explicit hash keys;
//   - AWS's own schema (the package's kpl.json, through protobufjs) reads
//     the same tables, indexes and tags (deaggregateSync does not return tags);
// and that a changed MD5 is refused. Exits non-zero if any check failed.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const agg = require("aws-kinesis-agg");
const common = require("aws-kinesis-agg/lib/common.js");

class CheckError extends Error {}
const check = (cond, why) => {
  if (!cond) throw new CheckError(why);
};
let failed = 0;
const step = (name, fn) => {
  try {
    fn();
    console.log(`ok - js: kpl: ${name}`);
  } catch (err) {
    failed++;
    const why = err instanceof CheckError ? err.message : `${err?.name}: ${err?.message ?? err}`;
    console.log(`not ok - js: kpl: ${name}: ${String(why).replace(/\s+/g, " ")}`);
  }
};

// deaggregate runs deaggregateSync on an aggregate's base64 data, as a
// Lambda event's Kinesis record, and returns [err, userRecords].
const deaggregate = (data) => {
  let out;
  agg.deaggregateSync({ data, partitionKey: "a", sequenceNumber: "49590338271490256608559692538361571095921575989136588898" },
    true, (err, records) => { out = [err, records]; });
  check(out !== undefined, "deaggregateSync did not call back");
  return out;
};

const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const show = (v) => JSON.stringify(v)?.slice(0, 200);

const path = process.argv[2];
if (!path) {
  console.error("usage: node kpl_deagg.mjs FIXTURE.json");
  process.exit(2);
}
const fixture = JSON.parse(readFileSync(path, "utf8"));
const AggregatedRecord = common.loadBuilder();

step(`fixture holds aggregates (${fixture.aggregates.length})`, () => check(fixture.aggregates.length > 0, "none"));
for (const a of fixture.aggregates) {
  step(`deaggregateSync: ${a.name} (${a.records.length} records)`, () => {
    const [err, got] = deaggregate(a.data);
    check(!err, `error ${err}`);
    check(got.length === a.records.length, `${got.length} records, want ${a.records.length}`);
    // The first explicit hash key any record has: aws-kinesis-agg reads an
    // absent explicit_hash_key_index as protobuf's default, 0, and so gives
    // a record without one the table's first key (undefined when the table
    // is empty). That is the library's, not the aggregate's.
    const firstEHK = a.records.find((r) => r.explicitHashKey !== undefined)?.explicitHashKey;
    a.records.forEach((want, i) => {
      const g = got[i];
      check(g.partitionKey === want.partitionKey, `record ${i}: partitionKey ${show(g.partitionKey)}, want ${show(want.partitionKey)}`);
      check(g.data === want.data, `record ${i}: data ${show(g.data)}, want ${show(want.data)}`);
      check(g.subSequenceNumber === i, `record ${i}: subSequenceNumber ${g.subSequenceNumber}`);
      const ehk = want.explicitHashKey ?? firstEHK;
      check(g.explicitPartitionKey === ehk, `record ${i}: explicitPartitionKey ${show(g.explicitPartitionKey)}, want ${show(ehk)}`);
    });
  });

  step(`AWS's schema: ${a.name}`, () => {
    const buf = Buffer.from(a.data, "base64");
    check(buf.subarray(0, 4).equals(common.magic), `magic ${buf.subarray(0, 4).toString("hex")}`);
    const m = AggregatedRecord.decode(buf.subarray(4, buf.length - 16));
    check(m.records.length === a.records.length, `${m.records.length} records, want ${a.records.length}`);
    a.records.forEach((want, i) => {
      const r = m.records[i];
      check(m.partition_key_table[Number(r.partition_key_index)] === want.partitionKey, `record ${i}: partition key`);
      if (want.explicitHashKey === undefined) {
        check(!has(r, "explicit_hash_key_index"), `record ${i}: has explicit_hash_key_index ${r.explicit_hash_key_index}, want none`);
      } else {
        check(m.explicit_hash_key_table[Number(r.explicit_hash_key_index)] === want.explicitHashKey, `record ${i}: explicit hash key`);
      }
      check(Buffer.from(r.data).toString("base64") === want.data, `record ${i}: data`);
      check(r.tags.length === want.tags.length, `record ${i}: ${r.tags.length} tags, want ${want.tags.length}`);
      want.tags.forEach((wt, j) => {
        const t = r.tags[j];
        check(t.key === wt.key, `record ${i} tag ${j}: key ${show(t.key)}, want ${show(wt.key)}`);
        if (wt.value === undefined) {
          check(!has(t, "value"), `record ${i} tag ${j}: value ${show(t.value)}, want none`);
        } else {
          check(has(t, "value") && t.value === wt.value, `record ${i} tag ${j}: value ${show(t.value)}, want ${show(wt.value)}`);
        }
      });
    });
    // Each key once in its table.
    for (const table of [m.partition_key_table, m.explicit_hash_key_table]) {
      check(new Set(table).size === table.length, `a table repeats a key: ${show(table)}`);
    }
  });
}

step("deaggregateSync refuses a changed MD5", () => {
  const buf = Buffer.from(fixture.aggregates[0].data, "base64");
  buf[buf.length - 1] ^= 1;
  const [err] = deaggregate(buf.toString("base64"));
  check(err && /checksum/i.test(err.message), `error ${err}`);
});

process.exit(failed ? 1 : 0);
