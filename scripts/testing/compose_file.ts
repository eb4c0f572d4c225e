/**
 * Reads compose.yaml for the tests, which cannot run Docker Compose here (no engine, no
 * plugin). Only the YAML that file uses: block mappings and sequences, one-line `[…]`
 * sequences, quoted and plain scalars, anchors (`&name`), aliases (`*name`) and merge keys
 * (`<<`), and Compose's `${NAME:-default}` interpolation. Anything else is refused, naming
 * the line, rather than read wrongly.
 */
export type Yaml = string | Yaml[] | { [key: string]: Yaml };

interface Line {
  n: number;
  indent: number;
  text: string;
}

/** A one-line value: a quoted or plain scalar, or a `[…]` sequence of them. */
function scalar(text: string, line: Line): Yaml {
  if (text.startsWith("[")) {
    if (!text.endsWith("]")) throw unreadable(line);
    const items = text.slice(1, -1).match(/"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^,\s][^,]*/g) ?? [];
    return items.map((item) => scalar(item.trim(), line));
  }
  if (text.startsWith('"')) return JSON.parse(text);
  if (text.startsWith("'")) return text.slice(1, -1).replaceAll("''", "'");
  if (/^[&*|>!%@`{]/.test(text)) throw unreadable(line);
  return text;
}

function unreadable(line: Line): SyntaxError {
  return new SyntaxError(`Cannot read compose.yaml: line ${line.n} "${line.text}"`);
}

/** Parses the YAML of compose.yaml into plain objects, anchors and merges resolved. */
export function parseCompose(text: string): { [key: string]: Yaml } {
  const lines: Line[] = text.split("\n")
    .map((raw, i) => ({ n: i + 1, indent: raw.search(/\S/), text: raw.trim() }))
    .filter((l) => l.indent >= 0 && !l.text.startsWith("#"));
  const anchors = new Map<string, Yaml>();
  let pos = 0;

  const sequence = (indent: number): Yaml[] => {
    const out: Yaml[] = [];
    while (pos < lines.length && lines[pos].indent === indent && lines[pos].text.startsWith("- ")) {
      out.push(scalar(lines[pos].text.slice(2).trim(), lines[pos]));
      pos++;
    }
    return out;
  };

  const mapping = (indent: number): { [key: string]: Yaml } => {
    const out: { [key: string]: Yaml } = {};
    const explicit = new Set<string>();
    while (pos < lines.length && lines[pos].indent === indent) {
      const line = lines[pos++];
      const m = /^([\w.-]+|<<):(?:\s+(.*))?$/.exec(line.text);
      if (!m) throw unreadable(line);
      const [, key, rest = ""] = m;
      const anchor = /^&([\w-]+)$/.exec(rest);
      let value: Yaml;
      if (rest === "" || anchor) {
        const next = lines[pos];
        value = next && next.indent > indent
          ? next.text.startsWith("- ") ? sequence(next.indent) : mapping(next.indent)
          : "";
        if (anchor) anchors.set(anchor[1], value);
      } else if (rest.startsWith("*")) {
        const target = anchors.get(rest.slice(1));
        if (target === undefined) throw unreadable(line);
        value = target;
      } else {
        value = scalar(rest, line);
      }
      if (key !== "<<") {
        out[key] = value;
        explicit.add(key);
      } else if (typeof value === "object" && !Array.isArray(value)) {
        // Keys written in the mapping itself win over merged ones, wherever the merge is.
        for (const [k, v] of Object.entries(value)) if (!explicit.has(k)) out[k] = v;
      } else {
        throw unreadable(line);
      }
    }
    if (pos < lines.length && lines[pos].indent > indent) throw unreadable(lines[pos]);
    return out;
  };

  const top = mapping(0);
  if (pos < lines.length) throw unreadable(lines[pos]);
  return interpolate(top, {}) as { [key: string]: Yaml };
}

/** Compose's `${NAME:-default}` and `${NAME}`, from `env`. */
export function interpolate(value: Yaml, env: Record<string, string>): Yaml {
  if (typeof value === "string") {
    return value.replace(
      /\$\{(\w+)(?::-([^}]*))?\}/g,
      (_, name, fallback) => env[name] || (fallback ?? ""),
    );
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, env));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env)]));
}
