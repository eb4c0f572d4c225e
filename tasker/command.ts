/**
 * What a mention asks for, read from its text: a command word anywhere (English or
 * Portuguese, any case, with or without accents) and the circles' options beside it. The
 * bot's own handle and other mentions, links and domains are not read as words, so a
 * handle such as @circles.example never counts as the command.
 */

export type Lang = "en" | "pt";
export type Window = "24h" | "7d" | "30d";
export type Direction = "sent" | "received" | "both" | "mutual";

export interface CirclesOptions {
  window: Window;
  direction: Direction;
  rings: 1 | 2 | 3;
}

export type Command =
  | { kind: "circles"; options: CirclesOptions }
  | { kind: "top" }
  | { kind: "help" };

export const DEFAULT_OPTIONS: CirclesOptions = {
  window: "7d",
  direction: "both",
  rings: 3,
};

const COMMANDS: Record<string, Command["kind"]> = {
  circles: "circles",
  bolas: "circles",
  circulos: "circles",
  top: "top",
  help: "help",
  ajuda: "help",
};

const DIRECTIONS: Record<string, Direction> = {
  sent: "sent",
  enviadas: "sent",
  received: "received",
  recebidas: "received",
  both: "both",
  ambos: "both",
  mutual: "mutual",
  mutuos: "mutual",
};

const RING_WORDS = new Set(["rings", "ring", "aneis", "anel"]);

/** Words only Portuguese (or only English) uses, for a mention without `langs`. */
const PORTUGUESE = new Set([
  "bolas",
  "circulos",
  "ajuda",
  "enviadas",
  "recebidas",
  "ambos",
  "mutuos",
  "aneis",
  "meus",
  "minhas",
  "minha",
  "meu",
  "nao",
  "voce",
  "voces",
  "por",
  "favor",
  "obrigado",
  "obrigada",
  "ola",
  "oi",
  "que",
  "de",
  "da",
  "do",
  "das",
  "dos",
  "os",
  "uma",
  "com",
  "para",
  "quero",
  "ver",
  "mostra",
  "dias",
]);
const ENGLISH = new Set([
  "circles",
  "help",
  "sent",
  "received",
  "both",
  "mutual",
  "rings",
  "my",
  "me",
  "please",
  "show",
  "the",
  "of",
  "and",
  "for",
  "with",
  "hi",
  "hello",
  "thanks",
  "what",
  "is",
  "days",
]);

/** The text as words: lowercase, accents removed, mentions, links and domains left out. */
export function words(text: string): string[] {
  const plain = text.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
  const out: string[] = [];
  for (const token of plain.split(/\s+/)) {
    // A mention, a link, or a domain (a dot between letters or digits) is not a word.
    if (
      token.startsWith("@") || token.includes("://") ||
      /[\p{L}\p{N}]\.[\p{L}\p{N}]/u.test(token)
    ) {
      continue;
    }
    for (const word of token.split(/[^\p{L}\p{N}]+/u)) if (word) out.push(word);
  }
  return out;
}

/** The command a mention's text carries (the first command word wins), or undefined. */
export function parseCommand(text: string): Command | undefined {
  const ws = words(text);
  const at = ws.findIndex((w) => w in COMMANDS);
  if (at < 0) return undefined;
  const kind = COMMANDS[ws[at]];
  if (kind !== "circles") return { kind };
  const options = { ...DEFAULT_OPTIONS };
  ws.forEach((w, i) => {
    if (w === "24h" || w === "7d" || w === "30d") options.window = w;
    else if (w in DIRECTIONS) options.direction = DIRECTIONS[w];
    else if (RING_WORDS.has(w)) {
      // "rings 2" or "2 rings"
      const n = /^[123]$/.test(ws[i + 1] ?? "")
        ? ws[i + 1]
        : /^[123]$/.test(ws[i - 1] ?? "")
        ? ws[i - 1]
        : undefined;
      if (n) options.rings = Number(n) as 1 | 2 | 3;
    }
  });
  return { kind: "circles", options };
}

/**
 * The language to answer in: the first of the post's `langs` that the bot speaks, else
 * the one whose words the text uses more (a tie goes to Portuguese on its own letters).
 */
export function replyLanguage(
  text: string,
  langs: readonly string[] | undefined,
): Lang {
  for (const tag of langs ?? []) {
    const primary = tag.toLowerCase().split("-")[0];
    if (primary === "pt" || primary === "en") return primary;
  }
  let pt = 0, en = 0;
  for (const w of words(text)) {
    if (PORTUGUESE.has(w)) pt++;
    if (ENGLISH.has(w)) en++;
  }
  if (pt !== en) return pt > en ? "pt" : "en";
  return /[ãõçâêôáéíóú]/i.test(text) ? "pt" : "en";
}
