import assert from "node:assert/strict";
import { ID_BUCKET, KEY_NAMES, storeKeys } from "./layout.ts";
import { defineScript, LUA_KEYS, withKeys } from "./lua.ts";
import { withStore } from "./testing/fixtures.ts";

Deno.test("the scripts' K builds every key name as storeKeys does", async () => {
  await withStore(async (redis) => {
    const lua = withKeys(`return {
      K.log(42, 2900), K.records(7, 362500), K.slotRecords('ab', 362500, 7), K.recordBuckets, K.graph(42), K.profile(42),
      K.handles, K.hidden, K.optCode('AB12CD34'), K.didToId,
      K.idToDid(math.floor(1000000 / K.ID_BUCKET)), K.nextId, K.lease(3), K.parked,
      tostring(K.ID_BUCKET)
    }`);
    assert.deepEqual(await redis.eval(lua, 0), [
      storeKeys.log(42, 2900),
      storeKeys.records(7, 362_500),
      storeKeys.slotRecords("ab", 362_500, 7),
      storeKeys.recordBuckets,
      storeKeys.graph(42),
      storeKeys.profile(42),
      storeKeys.handles,
      storeKeys.hidden,
      storeKeys.optCode("AB12CD34"),
      storeKeys.didToId,
      storeKeys.idToDid(1_000_000),
      storeKeys.nextId,
      storeKeys.lease(3),
      storeKeys.parked,
      String(ID_BUCKET),
    ]);
    // Every name of the table is in K.
    const names = Object.keys(KEY_NAMES);
    const kinds = await redis.eval(
      withKeys(`local out = {} for i, n in ipairs(ARGV) do out[i] = type(K[n]) end return out`),
      0,
      ...names,
    ) as string[];
    names.forEach((name, k) => {
      const takesValues = KEY_NAMES[name as keyof typeof KEY_NAMES].includes("<");
      assert.equal(kinds[k], takesValues ? "function" : "string", name);
    });
  });
});

Deno.test("the key names take one line: a script's errors name its own line numbers", async () => {
  assert.ok(!LUA_KEYS.includes("\n"));
  await withStore(async (redis) => {
    const source = "-- line 1\nlocal x = 1\nerror('broken on line 3')\n";
    await assert.rejects(() => redis.eval(withKeys(source), 0), /:3: broken on line 3/);
  });
});

Deno.test("defineScript() defines a command once per connection, and it runs the script", async () => {
  await withStore(async (redis) => {
    defineScript(redis, "keyOfLog", withKeys("return K.log(ARGV[1], ARGV[2])"));
    // A second definition under that name is left alone.
    defineScript(redis, "keyOfLog", withKeys("return 'other'"));
    const r = redis as unknown as { keyOfLog(...a: (string | number)[]): Promise<string> };
    assert.equal(await r.keyOfLog(5, 2900), storeKeys.log(5, 2900));
    defineScript(redis, "firstKey", "return KEYS[1] .. ARGV[1]", 1);
    const k = redis as unknown as { firstKey(...a: string[]): Promise<string> };
    assert.equal(await k.firstKey("a", "b"), "ab");
  });
});
