/** The API's live figures, as /live and its chart use them. */
import type { z } from "zod";
import type * as api from "@bsky/fart/schemas";

export type LiveAnswer = z.infer<typeof api.liveAnswer>;
