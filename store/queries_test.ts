import assert from "node:assert/strict";
import * as queries from "./queries.ts";

Deno.test("@bsky/store/queries still exports every read, from the modules that hold them", () => {
  assert.deepEqual(Object.keys(queries).sort(), [
    "CountTable",
    "DEFAULT_WEIGHTS",
    "IdBits",
    "OPTED_OUT",
    "blockPage",
    "didOfHandle",
    "didsOf",
    "hiddenAmong",
    "hiddenIds",
    "idOf",
    "languageWindows",
    "profiles",
    "scanLanguagePosts",
    "searchHandles",
    "topInteractions",
    "totals",
    "trimLanguageHours",
    "windowRange",
    "windowWeeks",
  ]);
  assert.equal(queries.OPTED_OUT, "opted_out");
  assert.deepEqual(queries.DEFAULT_WEIGHTS, { like: 1, repost: 2, reply: 3, quote: 3, mention: 2 });
});
