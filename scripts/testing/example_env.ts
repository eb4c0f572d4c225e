/**
 * Settings a test gives a service that is off without them (`ServiceSpec.needs`, and what
 * its configuration then requires), so that it starts: values of the right form that lead
 * nowhere. The tasker then keeps trying to sign in, which is all these tests need of it.
 */
import type { ServiceSpec } from "../services.ts";

const EXAMPLES: Record<string, string> = {
  TASKER_IDENTIFIER: "circles-bot.example.com",
  TASKER_APP_PASSWORD: "abcd-efgh-ijkl-mnop",
};

/** The example values of the variables `spec` reads that need one. */
export function exampleEnv(spec: ServiceSpec): Record<string, string> {
  return Object.fromEntries(spec.env.filter((n) => n in EXAMPLES).map((n) => [n, EXAMPLES[n]]));
}
