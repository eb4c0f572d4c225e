import assert from "node:assert/strict";
import { decode } from "fast-png";
import { created, nextSeq } from "@bsky/shared/testing/events";
import {
  type Avatars,
  circleLayout,
  type CircleOptions,
  type CirclePerson,
  initialsOf,
  nameText,
  type PlacedPerson,
  placeholderColour,
  renderCirclesSvg,
} from "./circles.ts";
import { parseXml, XML_FORBIDDEN } from "./testing/xml.ts";
import { circleOptions as opts } from "./testing/circle_options.ts";
import { HOSTILE_NAMES, LONGEST_HANDLE } from "./testing/hostile_names.ts";
import { withTestApi } from "./testing/api.ts";
import { startStandInNetwork } from "./testing/stand_in.ts";

const owner: CirclePerson = { did: "did:plc:owner", handle: "alice.test", score: 0 };

function people(count: number): CirclePerson[] {
  return Array.from({ length: count }, (_, i) => ({
    did: `did:plc:p${i}`,
    handle: `user${i}.test`,
    score: 1000 - i,
  }));
}

/** The markup of one person's avatar group. */
function group(svg: string, did: string): string {
  const start = svg.indexOf(`<g data-did="${did}">`);
  assert.ok(start >= 0, `no group for ${did}`);
  return svg.slice(start, svg.indexOf("</g>", start));
}

const allSizes = [
  ["8-15-26", [8, 15, 26]],
  ["10-20-30", [10, 20, 30]],
] as const;

Deno.test("circleLayout() puts as many people on each ring as the ring sizes say", () => {
  for (const [ringSizes, sizes] of allSizes) {
    for (const rings of [1, 2, 3] as const) {
      const layout = circleLayout(owner, people(100), opts({ rings, ringSizes }));
      assert.deepEqual(
        layout.rings.map((ring) => ring.people.length),
        sizes.slice(0, rings),
        `${rings} rings of ${ringSizes}`,
      );
      assert.equal(layout.size, 600);
      assert.equal(layout.center.did, owner.did);
      assert.equal(layout.center.ring, 0);
      layout.rings.forEach((ring, i) => ring.people.forEach((p) => assert.equal(p.ring, i + 1)));
    }
  }
});

Deno.test("circleLayout() fills the inner ring first, best ranked first", () => {
  const ranked = people(60);
  const layout = circleLayout(owner, ranked, opts());
  const placed = layout.rings.flatMap((ring) => ring.people.map((p) => p.did));
  assert.deepEqual(placed, ranked.map((p) => p.did));
  assert.deepEqual(
    layout.rings[0].people.map((p) => p.handle),
    ranked.slice(0, 10).map((p) => p.handle),
  );
});

Deno.test("circleLayout() draws only the rings that have people", () => {
  assert.deepEqual(circleLayout(owner, people(13), opts()).rings.map((r) => r.people.length), [
    10,
    3,
  ]);
  assert.deepEqual(circleLayout(owner, people(4), opts()).rings.map((r) => r.people.length), [4]);
  assert.deepEqual(circleLayout(owner, [], opts()).rings, []);
  const svg = renderCirclesSvg(circleLayout(owner, people(4), opts()), new Map(), opts());
  assert.equal(svg.match(/stroke-opacity/g)?.length, 1, "one ring guide");
});

Deno.test("circleLayout() spreads a ring's people evenly around the whole ring", () => {
  for (const count of [1, 2, 3, 5, 13]) {
    const layout = circleLayout(owner, people(count), opts());
    for (const ring of layout.rings) {
      const { x: cx, y: cy } = layout.center;
      const angles = ring.people.map((p) => Math.atan2(p.y - cy, p.x - cx));
      const k = angles.length;
      for (let i = 0; i < k; i++) {
        const step = (angles[(i + 1) % k] - angles[i] + 4 * Math.PI) % (2 * Math.PI);
        assert.ok(
          Math.abs((k === 1 ? 2 * Math.PI : step) - (2 * Math.PI) / k) < 1e-9,
          `${count} people: ring of ${k} has even steps`,
        );
        const p = ring.people[i];
        assert.ok(Math.abs(Math.hypot(p.x - cx, p.y - cy) - ring.radius) < 1e-9, "on the ring");
      }
    }
  }
});

Deno.test("circleLayout() sizes avatars to the rings drawn, not to empty slots", () => {
  const few = circleLayout(owner, people(4), opts());
  const full = circleLayout(owner, people(60), opts());
  assert.ok(few.center.r > 1.5 * full.center.r, `${few.center.r} vs ${full.center.r}`);
  assert.ok(few.rings[0].people[0].r > 1.5 * full.rings[0].people[0].r);
  // Asking for three rings with four people draws what one ring would.
  assert.deepEqual(few, circleLayout(owner, people(4), opts({ rings: 1 })));
  // Nobody around: the owner stays a picture's centre, not the whole canvas.
  const alone = circleLayout(owner, [], opts());
  assert.ok(alone.center.r < few.center.r * 1.1 && alone.center.r > few.center.r * 0.8);
  // The outer ring's few avatars sit as close in as their size allows.
  const two = circleLayout(owner, people(12), opts());
  const outer = two.rings[1];
  const inner = two.rings[0];
  assert.ok(outer.radius < full.rings[1].radius * (two.center.r / full.center.r));
  assert.ok(outer.radius - outer.people[0].r >= inner.radius + inner.people[0].r);
});

Deno.test("circleLayout() does not put the owner on a ring", () => {
  const layout = circleLayout(owner, [owner, ...people(3)], opts({ rings: 1 }));
  assert.deepEqual(layout.rings[0].people.map((p) => p.did), [
    "did:plc:p0",
    "did:plc:p1",
    "did:plc:p2",
  ]);
});

Deno.test("circleLayout() shrinks avatars ring by ring and keeps rings apart", () => {
  for (const [ringSizes] of allSizes) {
    const layout = circleLayout(owner, people(100), opts({ ringSizes }));
    let previous: PlacedPerson = layout.center;
    let reach = layout.center.r;
    for (const ring of layout.rings) {
      const r = ring.people[0].r;
      assert.ok(r < previous.r, `ring ${ring.people[0].ring} avatars are smaller`);
      assert.ok(ring.radius - r >= reach, `ring ${ring.people[0].ring} clears the one inside`);
      reach = ring.radius + r;
      previous = ring.people[0];
    }
  }
});

Deno.test("circleLayout() never overlaps avatars and keeps everything inside the canvas", () => {
  for (const [ringSizes] of allSizes) {
    for (const rings of [1, 2, 3] as const) {
      for (const [title, showDate] of [[undefined, false], ["@alice.test", true]] as const) {
        const layout = circleLayout(
          owner,
          people(100),
          opts({ rings, ringSizes, title, showDate }),
        );
        const all = [layout.center, ...layout.rings.flatMap((ring) => ring.people)];
        for (const p of all) {
          assert.ok(p.r > 10, `avatars stay visible: r = ${p.r}`);
          assert.ok(p.x - p.r >= 0 && p.x + p.r <= layout.size, `x inside: ${p.did}`);
          assert.ok(p.y - p.r >= 0 && p.y + p.r <= layout.size, `y inside: ${p.did}`);
        }
        for (let i = 0; i < all.length; i++) {
          for (let j = i + 1; j < all.length; j++) {
            const [a, b] = [all[i], all[j]];
            const distance = Math.hypot(a.x - b.x, a.y - b.y);
            assert.ok(distance >= a.r + b.r, `${a.did} and ${b.did} overlap`);
          }
        }
      }
    }
  }
});

Deno.test("circleLayout() leaves room for the title and the date", () => {
  const layout = circleLayout(owner, people(60), opts({ title: "@alice.test", showDate: true }));
  const all = [layout.center, ...layout.rings.flatMap((ring) => ring.people)];
  assert.ok(Math.min(...all.map((p) => p.y - p.r)) >= 40, "below the title");
  assert.ok(Math.max(...all.map((p) => p.y + p.r)) <= layout.size - 30, "above the date");
});

Deno.test("circleLayout() writes names under avatars clear of every avatar, every other name and the edges", () => {
  const named = people(100).map((p, i) => ({
    ...p,
    displayName: i % 3 ? `Someone with a rather long name ${i}` : undefined,
  }));
  for (const [ringSizes] of allSizes) {
    for (const count of [1, 5, 12, 40, 100]) {
      for (const rings of [1, 2, 3] as const) {
        const options = opts({
          rings,
          ringSizes,
          names: true,
          title: "@alice.test",
          showDate: true,
        });
        const layout = circleLayout(owner, named.slice(0, count), options);
        const all = [layout.center, ...layout.rings.flatMap((ring) => ring.people)];
        const boxes = all.flatMap((p) => {
          if (!p.name) return [];
          const half = ([...p.name.text].length * 0.6 * p.name.size) / 2;
          return [{
            p,
            left: p.x - half,
            right: p.x + half,
            top: p.name.y - p.name.size,
            bottom: p.name.y + 0.25 * p.name.size,
          }];
        });
        assert.ok(boxes.length > 0, `${count} people on ${rings} rings of ${ringSizes}: names`);
        for (const b of boxes) {
          const where = `${count} on ${rings} of ${ringSizes}: ${b.p.did}`;
          assert.ok(b.left >= 0 && b.right <= layout.size, `${where} is inside the width`);
          assert.ok(b.top >= 40 && b.bottom <= layout.size - 30, `${where} clears title and date`);
          for (const q of all) {
            // The nearest point of the box to the avatar's centre is outside the avatar.
            const dx = Math.max(b.left - q.x, 0, q.x - b.right);
            const dy = Math.max(b.top - q.y, 0, q.y - b.bottom);
            assert.ok(Math.hypot(dx, dy) >= q.r - 1e-9, `${where}'s name overlaps ${q.did}`);
          }
          for (const c of boxes) {
            if (c === b) continue;
            const apart = c.left >= b.right || b.left >= c.right || c.top >= b.bottom ||
              b.top >= c.bottom;
            assert.ok(apart, `${where}'s name overlaps ${c.p.did}'s`);
          }
        }
      }
    }
  }
  const bare = circleLayout(owner, named.slice(0, 12), opts());
  assert.ok(bare.rings.every((ring) => ring.people.every((p) => !p.name)), "names only when asked");
});

Deno.test("nameText() writes the display name, else the handle's first label, cut to fit", () => {
  assert.equal(
    nameText({ did: "d", handle: "bob.bsky.social", displayName: "Robert" }, 10),
    "Robert",
  );
  assert.equal(nameText({ did: "d", handle: "bob.bsky.social" }, 10), "bob");
  assert.equal(nameText({ did: "d", displayName: "Bartholomew Jones" }, 6), "Barth…");
  assert.equal(nameText({ did: "d", displayName: "Robert" }, 1.5), "", "no room");
  assert.equal(nameText({ did: "d", displayName: "A\u202eB" }, 10), "AB", "sanitized");
});

Deno.test("renderCirclesSvg() writes the names under the avatars only when asked", () => {
  const options = opts({ names: true });
  const layout = circleLayout(owner, people(12), options);
  const svg = renderCirclesSvg(layout, new Map(), options);
  assert.equal(svg.match(/<text class="avatar-name"/g)?.length, 12);
  assert.match(group(svg, "did:plc:p0"), /<text class="avatar-name"[^>]*>user0<\/text>/);
  const plain = renderCirclesSvg(circleLayout(owner, people(12), opts()), new Map(), opts());
  assert.doesNotMatch(plain, /class="avatar-name"/);
});

Deno.test("circleLayout() rejects ring options outside the allowed values", () => {
  const bad = { ...opts(), ringSizes: "8-15" } as unknown as CircleOptions;
  assert.throws(() => circleLayout(owner, [], bad), /Unknown ring sizes: "8-15"/);
  const four = { ...opts(), rings: 4 } as unknown as CircleOptions;
  assert.throws(() => circleLayout(owner, [], four), /Invalid ring count: "4"/);
});

Deno.test("renderCirclesSvg() lists every person in the accessible title", () => {
  const ranked = people(25);
  const svg = renderCirclesSvg(circleLayout(owner, ranked, opts()), new Map(), opts());
  const title = /<title>([^<]*)<\/title>/.exec(svg)?.[1] ?? "";
  const label = /aria-label="([^"]*)"/.exec(svg)?.[1] ?? "";
  assert.equal(label, title);
  assert.match(title, /^Interaction circles of @alice\.test\./);
  for (const p of ranked) assert.ok(title.includes(`@${p.handle}`), `${p.handle} is listed`);
  assert.match(svg, /<svg [^>]*role="img"/);
});

Deno.test("renderCirclesSvg() escapes markup in names and the title", () => {
  const nasty: CirclePerson = { did: "did:plc:x", displayName: `Bob <b>&"co"</b>`, score: 1 };
  const options = opts({ title: `<script>&"` });
  const svg = renderCirclesSvg(circleLayout(owner, [nasty], options), new Map(), options);
  assert.ok(!svg.includes("<b>") && !svg.includes("<script>"), "no raw markup");
  assert.ok(svg.includes("Bob &#60;b&#62;&#38;&#34;co&#34;&#60;/b&#62;"), "name escaped");
  assert.ok(svg.includes(">&#60;script&#62;&#38;&#34;</text>"), "title escaped");
  // Still well-formed: every attribute value is closed before the next one starts.
  assert.equal((svg.match(/"/g) ?? []).length % 2, 0);
});

Deno.test("renderCirclesSvg() embeds a given avatar as a data URI", () => {
  const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 250, 251]);
  const avatars: Avatars = new Map([["did:plc:p1", { bytes, type: "image/png" }]]);
  const svg = renderCirclesSvg(circleLayout(owner, people(3), opts()), avatars, opts());
  const mine = group(svg, "did:plc:p1");
  assert.ok(mine.includes(` href="data:image/png;base64,${btoa("\x89PNG\x01\x02\x03\xfa\xfb")}"`));
  assert.match(mine, /clip-path="url\(#a\d+\)"/);
  assert.ok(!group(svg, "did:plc:p0").includes("<image"), "others get no image");
});

Deno.test("renderCirclesSvg() draws a placeholder with two initials when an avatar is missing", () => {
  const avatars: Avatars = new Map([["did:plc:p1", {
    bytes: new Uint8Array([1]),
    type: "image/jpeg",
  }]]);
  const ranked = [...people(2), { did: "did:plc:anon", score: 1 }];
  const svg = renderCirclesSvg(circleLayout(owner, ranked, opts()), avatars, opts());
  const missing = group(svg, "did:plc:p0");
  assert.ok(!missing.includes("<image"));
  assert.ok(missing.includes(`fill="${placeholderColour("did:plc:p0")}"`));
  assert.match(missing, />U0<\/text>/);
  assert.match(group(svg, "did:plc:anon"), />\?<\/text>/);
  assert.match(group(svg, owner.did), />AL<\/text>/);
  assert.ok(!group(svg, "did:plc:p1").includes("<text"), "a JPEG avatar needs no placeholder");
  assert.notEqual(placeholderColour("did:plc:p0"), placeholderColour("did:plc:p1"));
  assert.match(placeholderColour("did:plc:p0"), /^#[0-9a-f]{6}$/);
});

Deno.test("renderCirclesSvg() does not embed a non-raster avatar", () => {
  const svgAvatar = { bytes: new TextEncoder().encode("<svg/>"), type: "image/svg+xml" };
  const avatars: Avatars = new Map([["did:plc:p0", svgAvatar]]);
  const svg = renderCirclesSvg(circleLayout(owner, people(1), opts()), avatars, opts());
  assert.ok(!svg.includes("image/svg+xml"));
  assert.ok(group(svg, "did:plc:p0").includes(placeholderColour("did:plc:p0")));
});

Deno.test("renderCirclesSvg() applies the background and border colours", () => {
  const options = opts({ background: "#abcdef", border: "#123456" });
  const svg = renderCirclesSvg(circleLayout(owner, people(5), options), new Map(), options);
  assert.match(svg, /<rect width="600" height="600" fill="#abcdef"\/>/);
  for (const did of [owner.did, "did:plc:p0", "did:plc:p4"]) {
    assert.match(group(svg, did), /stroke="#123456"/);
  }
  assert.equal((svg.match(/fill="none" stroke="#123456" stroke-opacity/g) ?? []).length, 1);
});

Deno.test("renderCirclesSvg() rejects a colour that is not #rrggbb", () => {
  const layout = circleLayout(owner, [], opts());
  const bad = opts({ border: `red" onload="x` });
  assert.throws(() => renderCirclesSvg(layout, new Map(), bad), /Invalid border colour: "red/);
  const short = opts({ background: "#fff" });
  assert.throws(
    () => renderCirclesSvg(layout, new Map(), short),
    /Invalid background colour: "#fff"/,
  );
});

Deno.test("renderCirclesSvg() draws the date range only when showDate is set", () => {
  const range = "2024-05-01 – 2024-05-31";
  const shown = opts({ showDate: true });
  const svg = renderCirclesSvg(circleLayout(owner, people(3), shown), new Map(), shown);
  assert.ok(svg.includes(`>${range}</text>`));
  const hidden = renderCirclesSvg(circleLayout(owner, people(3), opts()), new Map(), opts());
  assert.ok(!hidden.includes("2024-05"));
});

Deno.test("renderCirclesSvg() draws the title only when there is one", () => {
  const titled = opts({ title: "@alice.test" });
  const svg = renderCirclesSvg(circleLayout(owner, [], titled), new Map(), titled);
  assert.match(svg, /<text [^>]*>@alice\.test<\/text>/);
  const plain = renderCirclesSvg(circleLayout(owner, [], opts()), new Map(), opts());
  assert.doesNotMatch(plain, /<text [^>]*>@alice\.test<\/text>/);
});

Deno.test("renderCirclesSvg() picks a text colour that contrasts with the background", () => {
  const light = opts({ background: "#f5f5f5", showDate: true });
  const dark = opts({ background: "#101010", showDate: true });
  const ink = (o: CircleOptions) =>
    /font-size="15" fill="([^"]+)"/.exec(
      renderCirclesSvg(circleLayout(owner, [], o), new Map(), o),
    )?.[1];
  assert.equal(ink(light), "#1f2328");
  assert.equal(ink(dark), "#ffffff");
});

const REORDERING = /[\u202a-\u202e\u2066\u2067]/;

Deno.test("renderCirclesSvg() stays well-formed XML whatever names and handles people have", () => {
  const hostile: CirclePerson[] = HOSTILE_NAMES.map((displayName, i) => ({
    did: `did:plc:h${i}`,
    displayName,
    handle: i === 0 ? LONGEST_HANDLE : undefined,
    score: 100 - i,
  }));
  const center: CirclePerson = { did: "did:plc:o", displayName: HOSTILE_NAMES[0], score: 0 };
  const options = opts({ title: `@${LONGEST_HANDLE}`, showDate: true });
  const svg = renderCirclesSvg(circleLayout(center, hostile, options), new Map(), options);
  const elements = parseXml(svg);
  const titles = elements.filter((e) => e.name === "title").map((e) => e.text);
  assert.equal(titles.length, 1 + 1 + hostile.length, "the document's and one per person");
  for (const text of [...titles, ...elements.map((e) => e.attributes["aria-label"] ?? "")]) {
    assert.doesNotMatch(text, XML_FORBIDDEN);
    assert.doesNotMatch(text, REORDERING, "no embedding, override or unpaired isolate");
  }
  const label = titles[0];
  assert.ok(label.includes(`\u2068<script>alert("x")</script><b onload='y'>&amp;\u2069`));
  assert.ok(label.includes("\u2068]]> <![CDATA[ x ]]>\u2069"));
  assert.ok(label.includes("\u2068👩‍👩‍👧‍👦 🏳️‍🌈 ❤️ 🇧🇷\u2069"), "emoji sequences whole");
  assert.ok(label.includes(`\u2068${"x".repeat(64)}\u2069`), "a name at the limit is whole");
  assert.ok(label.includes(`\u2068${"y".repeat(63)}…\u2069`), "a longer one is cut");
  assert.ok(label.includes("\u2068invoicegpj.exe\u2069"));
  assert.ok(label.includes(`\u2068NullBellEscapeEnd\u2069 (@${LONGEST_HANDLE})`));
  const title = elements.find((e) => e.name === "text" && e.text.startsWith("@"))!;
  assert.equal(title.text, `@${LONGEST_HANDLE}`);
  assert.ok(Number(title.attributes["font-size"]) < 22, "a long handle gets a smaller font");
  // Placeholders of people without a handle show their name's initials, "?" without letters.
  const initials = elements.filter((e) => e.name === "text").map((e) => e.text);
  assert.ok(initials.includes("<X"), "]]> <![CDATA[ x ]]>");
  assert.ok(initials.includes("<O"), "<script>…");
  assert.ok(initials.includes("?"), "emoji only");
});

Deno.test("renderCirclesSvg() writes the site's address at the bottom right when given, under the date and clear of the avatars", () => {
  const options = opts({ credit: "circles.example:8080", showDate: true });
  const layout = circleLayout(owner, people(60), options);
  const svg = renderCirclesSvg(layout, new Map(), options);
  const credit = svg.match(/<text class="credit" x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)<\/text>/);
  assert.ok(credit, "the address is written");
  assert.equal(credit[3], "circles.example:8080");
  assert.equal(Number(credit[1]), 588, "right-aligned at the margin");
  const date = svg.match(/<text x="300" y="([\d.]+)"[^>]*>2024-05-01/)!;
  assert.ok(Number(date[1]) < Number(credit[2]) - 11, "the date stays above it");
  const all = [layout.center, ...layout.rings.flatMap((ring) => ring.people)];
  assert.ok(Math.max(...all.map((p) => p.y + p.r)) <= Number(date[1]) - 15, "avatars above both");
  for (const odd of [undefined, "<b>x</b>", "a b", "x".repeat(65)]) {
    const other = opts({ credit: odd });
    assert.doesNotMatch(
      renderCirclesSvg(circleLayout(owner, people(3), other), new Map(), other),
      /class="credit"/,
    );
  }
});

Deno.test("initialsOf() takes the name's, else the handle's, printable letters, else ?", () => {
  assert.equal(initialsOf({ handle: "alice.test", displayName: "Zed Amos" }), "ZA");
  assert.equal(initialsOf({ displayName: "\u0001\u202Ezed" }), "ZE");
  assert.equal(initialsOf({ displayName: "👩‍👩‍👧‍👦", handle: "bo.test" }), "BO");
  assert.equal(initialsOf({ handle: null, displayName: "\u0000" }), "?");
});

Deno.test("GET /v1/circles gives a well-formed SVG and a PNG (200) when counterparts have names unfit to print", async () => {
  await using net = startStandInNetwork();
  const urls = { FART_PLC_URL: net.url, FART_HANDLE_RESOLVER_URL: net.url };
  await withTestApi({ ...urls, FART_AVATAR_CDN_URL: net.url }, async ({ get, applier }) => {
    const [A, B, C] = ["a", "b", "c"].map((c) => `did:plc:${c.repeat(24)}`);
    const t = Date.now();
    const commit = (did: string, collection: string, rkey: string, facts: object) =>
      created(did, collection, rkey, facts, t);
    await applier.apply([
      { v: 1, kind: "identity", seq: nextSeq(), time: t, did: A, handle: LONGEST_HANDLE },
      { v: 1, kind: "identity", seq: nextSeq(), time: t, did: B, handle: "bob.test" },
      commit(B, "app.bsky.actor.profile", "self", { displayName: HOSTILE_NAMES[0] }),
      commit(C, "app.bsky.actor.profile", "self", { displayName: HOSTILE_NAMES.join(" ") }),
      commit(A, "app.bsky.feed.like", "l1", { subject: B }),
      commit(A, "app.bsky.feed.like", "l2", { subject: C }),
    ]);
    const svg = await get(`/v1/circles/${A}.svg?rings=1`);
    assert.equal(svg.status, 200);
    const label = parseXml(await svg.text()).find((e) => e.name === "title")!.text;
    assert.ok(label.startsWith(`Interaction circles of @${LONGEST_HANDLE}.`), label);
    assert.ok(label.includes("\u2068NullBellEscapeEnd\u2069 (@bob.test)"), label);
    for (const width of [600, 1200]) {
      const png = await get(`/v1/circles/${A}.png?rings=1&width=${width}`);
      assert.equal(png.status, 200, `${width} px`);
      assert.equal(decode(new Uint8Array(await png.arrayBuffer())).width, width);
    }
    const credited = await get(`/v1/circles/${A}.svg?rings=1&credit=circles.example`);
    assert.match(await credited.text(), /<text class="credit"[^>]*>circles.example<\/text>/);
    const refused = await get(`/v1/circles/${A}.svg?credit=%3Cb%3E`);
    assert.equal(refused.status, 400, "an address is a host name, not any text");
    await refused.body?.cancel();
  });
});
