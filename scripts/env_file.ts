/**
 * Settings files (`.env`): `deno task start` reads one, `deno task compile --env-file` another.
 * Variables already in the environment win over the file, as with `deno run --env-file` and
 * Docker Compose, so `FART_PORT=9000 deno task start` still works with a `.env` present.
 */

/** Parses a dotenv file: `NAME=value` lines, `#` comments, optional quotes and `export`. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) {
      throw new SyntaxError(`Cannot parse env file: line ${i + 1} "${line}" is not NAME=value`);
    }
    const value = m[2];
    const quoted = /^(['"])(.*)\1$/.exec(value);
    out[m[1]] ??= quoted ? quoted[2] : value.replace(/\s+#.*$/, "");
  }
  return out;
}

/** What reading a settings file into an environment did. */
export interface EnvFileResult {
  /** Whether the file exists; a missing file changes nothing. */
  found: boolean;
  /** Variables taken from the file. */
  taken: string[];
  /** Variables of the file left as the environment has them. */
  kept: string[];
}

/**
 * Adds the variables of the settings file at `path` to `env` (changed in place), except those
 * the environment already sets (an empty value counts as unset, as everywhere in the config).
 */
export async function applyEnvFile(
  path: string,
  env: Record<string, string | undefined>,
): Promise<EnvFileResult> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { found: false, taken: [], kept: [] };
    throw err;
  }
  const result: EnvFileResult = { found: true, taken: [], kept: [] };
  for (const [name, value] of Object.entries(parseEnvFile(text))) {
    if (env[name]) {
      result.kept.push(name);
    } else {
      env[name] = value;
      result.taken.push(name);
    }
  }
  return result;
}
