import assert from "node:assert/strict";
import { idOf, totals } from "./queries.ts";
import { compactWeek, lastRollableHour, rollUpWeeks } from "./rollup.ts";
import { firstHourCellDay, HOUR_MS, rolledLength, storeKeys, WEEK_HOURS } from "./layout.ts";
import { didOf, generateEvents } from "./testing/generate.ts";
import { A, B, del, like, T0, top, withStore } from "./testing/fixtures.ts";

Deno.test("compactWeek() rolls closed days up, smaller, and changes no whole-day answer", async () => {
  await withStore(async (redis, applier) => {
    const nowHour = Math.floor(T0 / HOUR_MS);
    const dayStart = (back: number) => (Math.floor(nowHour / 24) - back) * 24;
    // Six days of generated traffic, and a like and its delete in a day that will roll up.
    const events = [...generateEvents({
      accounts: 40,
      events: 4000,
      seed: 7,
      start: dayStart(5) * HOUR_MS,
      spanMs: T0 - dayStart(5) * HOUR_MS,
    })];
    const old = dayStart(3) * HOUR_MS + 5 * HOUR_MS;
    events.push(like(A, "3kaaaaaaaaaa2", B, old), like(A, "3kaaaaaaaaaa3", B, old));
    events.push(del(A, "app.bsky.feed.like", "3kaaaaaaaaaa2", old));
    for (let k = 0; k < events.length; k += 500) await applier.apply(events.slice(k, k + 500));
    // Windows of up to 25 hours (the roll-up leaves days alone until they have been over
    // for 25 hours), and windows that start at a day's start. Other windows round their
    // oldest day: store/tests/any_hour_test.ts checks them at every hour of a week.
    const windows = [1, 5, 24, 25, ...[1, 2, 3, 4, 5].map((b) => nowHour - dayStart(b) + 1)];
    const dids = [A, B, didOf(0), didOf(1), didOf(7), didOf(39)];
    const answers = async () => {
      const out: unknown[] = [];
      for (const did of dids) {
        for (const w of windows) {
          for (const direction of ["sent", "received", "both", "mutual"] as const) {
            out.push(await top(redis, did, direction, w));
          }
          out.push(await totals(redis, did, w, T0));
        }
      }
      return out;
    };
    const before = await answers();
    const weeks = [...new Set([dayStart(5), nowHour].map((h) => Math.floor(h / 168)))];
    const roll = async () => {
      let bytes = 0, after = 0;
      for (const week of weeks) {
        const r = await compactWeek(redis, week, T0);
        bytes += r.before;
        after += r.after;
      }
      return [bytes, after];
    };
    const [bytes, after] = await roll();
    assert.ok(after < bytes * 0.7, `rolled up: ${after} < 0.7 * ${bytes}`);
    assert.deepEqual(await answers(), before);
    // A window that reaches into a rolled-up day counts it whole when it covers half of it.
    const fromDay = (b: number) => nowHour - dayStart(b) + 1;
    for (const did of dids) {
      assert.deepEqual(
        await top(redis, did, "both", fromDay(3) - 6),
        await top(redis, did, "both", fromDay(3)),
      );
      assert.deepEqual(
        await top(redis, did, "both", fromDay(3) - 18),
        await top(redis, did, "both", fromDay(2)),
      );
    }
    assert.deepEqual(await roll(), [after, after], "a second run changes nothing");
    const thisWeek = Math.floor(nowHour / 168);
    const heads = await Promise.all(
      dids.map(async (d) => await redis.getBuffer(`l:{${await idOf(redis, d)}}:${thisWeek}`)),
    );
    assert.ok(
      heads.some((h) => h && firstHourCellDay(h) >= 0) || nowHour % 168 < 24,
      "closed hours of the last day are kept apart",
    );
    const aId = await idOf(redis, A);
    const week = Math.floor(old / HOUR_MS / 168);
    assert.ok(await redis.ttl(`l:{${aId}}:${week}`) > 0, "the roll-up keeps the TTL");
    // An interaction undone after its day rolled up is taken back, before and after the
    // next roll-up (its record is older than the record memory here, so replay the pair).
    const aLog = await redis.getBuffer(`l:{${aId}}:${week}`);
    assert.ok(aLog && rolledLength(aLog) > 0, "A's log has a rolled-up part");
    const w3 = nowHour - dayStart(3) + 1;
    const likesOf = async () => (await top(redis, A, "sent", w3))?.find((c) => c.did === B)?.like;
    const likes = await likesOf();
    assert.ok(likes !== undefined && likes >= 1);
    await applier.apply([
      like(A, "3kaaaaaaaaaa4", B, T0),
      del(A, "app.bsky.feed.like", "3kaaaaaaaaaa4", T0),
    ]);
    assert.equal(await likesOf(), likes);
    await roll();
    assert.equal(await likesOf(), likes);
    // Two days on, the hours kept apart become days; answers from a day's start, asked at
    // the roll-up's time, stay the same.
    const later = T0 + 48 * HOUR_MS;
    const dayAnswers = () =>
      Promise.all(dids.map((did) => top(redis, did, "both", fromDay(2) + 48, later)));
    const kept = await dayAnswers();
    assert.ok(kept.some((a) => a && a.length > 0));
    for (const week of weeks) await compactWeek(redis, week, later);
    assert.deepEqual(await dayAnswers(), kept);
    for (const d of dids) {
      const log = await redis.getBuffer(`l:{${await idOf(redis, d)}}:${thisWeek}`);
      assert.ok(!log || firstHourCellDay(log) === -1, "the hours became days");
    }
  });
});

Deno.test("lastRollableHour() rolls a day up once its last hour is 25 hours behind", () => {
  const week = 2900, start = week * WEEK_HOURS * HOUR_MS;
  const at = (hour: number) => start + hour * HOUR_MS;
  // Day 0 (hours 0-23) ends at hour 23: rollable from hour 23 + 24 + 1 on.
  assert.equal(lastRollableHour(week, at(47)), -1);
  assert.equal(lastRollableHour(week, at(47) + HOUR_MS - 1), -1);
  assert.equal(lastRollableHour(week, at(48)), 23);
  assert.equal(lastRollableHour(week, at(71)), 23);
  assert.equal(lastRollableHour(week, at(72)), 47);
  // The week before, early in this one: its last day is not yet over for 25 hours.
  assert.equal(lastRollableHour(week - 1, at(0)), 6 * 24 - 1);
  assert.equal(lastRollableHour(week - 1, at(23)), 6 * 24 - 1);
  assert.equal(lastRollableHour(week - 1, at(24)), WEEK_HOURS - 1);
  assert.equal(lastRollableHour(week + 1, at(100)), -1, "a week to come");
});

Deno.test("rollUpWeeks() rolls this week's and the last week's logs up, and no older one", async () => {
  await withStore(async (redis, applier) => {
    const week = Math.floor(T0 / HOUR_MS / WEEK_HOURS);
    // A like three weeks back, one last week and one this week, each in its week's hour 2.
    const times = [week - 3, week - 1, week].map((w) => (w * WEEK_HOURS + 2) * HOUR_MS);
    await applier.apply(times.map((t, k) => like(A, `3kaaaaaaaaa${"bcd"[k]}a`, B, t)));
    const aId = (await idOf(redis, A))!;
    const before = await Promise.all(
      [week - 3, week - 1, week].map((w) => redis.strlen(storeKeys.log(aId, w))),
    );
    assert.deepEqual(before, [5, 5, 5], "one entry in each week's log");
    const now = (week * WEEK_HOURS + 60) * HOUR_MS;
    const report = await rollUpWeeks(redis, now);
    assert.deepEqual(Object.keys(report).sort(), [String(week - 1), String(week)]);
    assert.equal(report[String(week)].keys, 2, "A's and B's logs of this week");
    const after = await Promise.all(
      [week - 3, week - 1, week].map((w) => redis.getBuffer(storeKeys.log(aId, w))),
    );
    assert.equal(after[0]!.length, 5, "three weeks back: left alone");
    assert.ok(rolledLength(after[1]!) > 0, "last week: rolled up");
    assert.ok(rolledLength(after[2]!) > 0, "this week: rolled up");
    const again = await rollUpWeeks(redis, now);
    for (const [w, { keys, after }] of Object.entries(report)) {
      assert.deepEqual(
        again[w],
        { keys, before: after, after },
        "running it again changes nothing",
      );
    }
  });
});
