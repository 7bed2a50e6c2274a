// Shared pieces of the JavaScript compatibility checks: a client for the
// server under test, one "ok - js: <name>" / "not ok - js: <name>: <why>"
// line per check, and an exit status that says whether any failed.
import { KinesisClient } from "@aws-sdk/client-kinesis";

export class CheckError extends Error {}

export const check = (cond, why) => {
  if (!cond) throw new CheckError(why);
};

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const errText = (err) => `${err?.name ?? "Error"}: ${err?.message ?? err}`;

// checks reads the endpoint from the command line (exiting with usage when
// it is missing) and returns the client, step and run.
export function checks(script) {
  const endpoint = process.argv[2];
  if (!endpoint) {
    console.error(`usage: node ${script} http://127.0.0.1:PORT`);
    process.exit(2);
  }
  const client = new KinesisClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
  });
  let failed = 0;
  const notOk = (name, why) => {
    failed++;
    console.log(`not ok - js: ${name}: ${String(why).replace(/\s+/g, " ")}`);
  };
  // step runs fn as one check; a thrown error fails it. It returns fn's
  // result (true when fn returns nothing), or undefined on failure.
  async function step(name, fn) {
    try {
      const v = await fn();
      console.log(`ok - js: ${name}`);
      return v ?? true;
    } catch (err) {
      notOk(name, err instanceof CheckError ? err.message : errText(err));
      return undefined;
    }
  }
  // run runs main, reports an error escaping it, and exits.
  async function run(main) {
    try {
      await main();
    } catch (err) {
      notOk("unexpected error", errText(err));
    } finally {
      client.destroy();
    }
    process.exit(failed ? 1 : 0);
  }
  return { client, step, run };
}
