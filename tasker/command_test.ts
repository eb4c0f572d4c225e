import assert from "node:assert/strict";
import { parseCommand, replyLanguage, words } from "./command.ts";

Deno.test("parseCommand() finds a command word anywhere, in English or Portuguese, whatever its case and accents", () => {
  const kind = (text: string) => parseCommand(text)?.kind;
  assert.equal(kind("@bot.test circles"), "circles");
  assert.equal(kind("hey @bot.test, show me my CIRCLES please!"), "circles");
  assert.equal(kind("@bot.test Bolas"), "circles");
  assert.equal(kind("@bot.test círculos"), "circles");
  assert.equal(kind("@bot.test CÍRCULOS"), "circles");
  assert.equal(kind("@bot.test circulos"), "circles");
  assert.equal(kind("@bot.test top"), "top");
  assert.equal(kind("@bot.test help?"), "help");
  assert.equal(kind("@bot.test Ajuda"), "help");
  // The first command word wins.
  assert.equal(kind("@bot.test help with circles"), "help");
  // Anything else is no command.
  assert.equal(kind("@bot.test hello there"), undefined);
  assert.equal(kind("@bot.test circlesss"), undefined);
  assert.equal(kind(""), undefined);
});

Deno.test("parseCommand() reads no command from handles, mentions, links or domains", () => {
  assert.equal(parseCommand("@circles.bsky.social hi"), undefined);
  assert.equal(parseCommand("@bot.test see https://example.com/top/help"), undefined);
  assert.equal(parseCommand("@bot.test bolas.example.com"), undefined);
  assert.equal(parseCommand("@bot.test @top.example ajuda")?.kind, "help");
  assert.deepEqual(words("@a.test Olá, CÍRCULOS (7d)! rings=2 x.y.z"), [
    "ola",
    "circulos",
    "7d",
    "rings",
    "2",
  ]);
});

Deno.test("parseCommand() takes the window, direction and rings beside circles, with defaults 7d, both, 3", () => {
  assert.deepEqual(parseCommand("@bot.test circles"), {
    kind: "circles",
    options: { window: "7d", direction: "both", rings: 3 },
  });
  assert.deepEqual(
    parseCommand("@bot.test circles 24h sent rings 1"),
    { kind: "circles", options: { window: "24h", direction: "sent", rings: 1 } },
  );
  const options = (text: string) => {
    const c = parseCommand(text);
    return c?.kind === "circles" ? c.options : undefined;
  };
  assert.deepEqual(options("bolas 30d recebidas 2 anéis"), {
    window: "30d",
    direction: "received",
    rings: 2,
  });
  assert.deepEqual(options("círculos MÚTUOS rings=1"), {
    window: "7d",
    direction: "mutual",
    rings: 1,
  });
  assert.deepEqual(options("circles enviadas"), { window: "7d", direction: "sent", rings: 3 });
  assert.deepEqual(options("circles ambos"), { window: "7d", direction: "both", rings: 3 });
  // Values outside the choices leave the default.
  assert.deepEqual(options("circles 12h rings 7 sideways"), {
    window: "7d",
    direction: "both",
    rings: 3,
  });
});

Deno.test("replyLanguage() answers in the post's language when the bot speaks it, else in the one its words use", () => {
  assert.equal(replyLanguage("circles", ["pt-BR"]), "pt");
  assert.equal(replyLanguage("bolas", ["en"]), "en");
  assert.equal(replyLanguage("bolas", ["ja", "pt"]), "pt");
  assert.equal(replyLanguage("@bot.test bolas", undefined), "pt");
  assert.equal(replyLanguage("@bot.test círculos por favor", ["ja"]), "pt");
  assert.equal(replyLanguage("@bot.test circles please", []), "en");
  assert.equal(replyLanguage("@bot.test top", undefined), "en");
  // A tie goes to Portuguese on its own letters.
  assert.equal(replyLanguage("@bot.test top ação", undefined), "pt");
});
