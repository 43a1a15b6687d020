// Verifies webhook deliveries with the npm standardwebhooks package, as a
// customer's receiver would. Used by TestStandardWebhooksInterop.
//
// stdin:  a JSON array of cases {name, secret, headers: {name: value}, body}
// stdout: a JSON array of verdicts {name, ok, error}, one per case, in order
import { Webhook } from "standardwebhooks";

process.stdin.setEncoding("utf8");
let input = "";
for await (const chunk of process.stdin) input += chunk;

const verdicts = JSON.parse(input).map(({ name, secret, headers, body }) => {
  try {
    new Webhook(secret).verify(body, headers);
    return { name, ok: true, error: "" };
  } catch (e) {
    return { name, ok: false, error: String(e?.message ?? e) };
  }
});
process.stdout.write(`${JSON.stringify(verdicts)}\n`);
