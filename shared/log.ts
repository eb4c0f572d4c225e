/** Log levels in increasing order of severity. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = typeof LOG_LEVELS[number];

export type LogFields = Record<string, unknown>;

/** A structured logger that writes one JSON object per line. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose lines carry these fields too. */
  child(fields: LogFields): Logger;
}

/** Strings may come from upstream data: each is cut to this many characters. */
const MAX_STRING = 300;
/**
 * An error's stack trace is our own code's call chain, which a bug report needs whole: it is
 * kept up to this bound, which only a pathological trace reaches.
 */
const MAX_STACK = 16_000;
const MAX_FIELDS = 24;
const encoder = new TextEncoder();

const cut = (text: string, max: number) =>
  text.length > max ? `${text.slice(0, max)}…(${text.length})` : text;

/**
 * An error's stack with its frames whole. The first lines repeat the message, which may hold
 * upstream data, so they are cut like any string.
 */
function stackOf(err: Error): string | undefined {
  if (typeof err.stack !== "string") return undefined;
  const at = err.stack.indexOf("\n    at ");
  if (at < 0) return cut(err.stack, MAX_STRING);
  return cut(cut(err.stack.slice(0, at), MAX_STRING) + err.stack.slice(at), MAX_STACK);
}

/** Keeps log lines bounded whatever upstream data ends up in them. */
function bound(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return cut(value, MAX_STRING);
  if (value instanceof Error) {
    return {
      name: value.name,
      message: bound(value.message),
      stack: stackOf(value),
      // A chain of causes may loop back on itself.
      cause: depth >= 3 && value.cause !== undefined ? "[…]" : bound(value.cause, depth + 1),
    };
  }
  if (value === null || typeof value !== "object") {
    return typeof value === "bigint" ? value.toString() : value;
  }
  if (depth >= 3) return "[…]";
  if (Array.isArray(value)) {
    const items = value.slice(0, 10).map((v) => bound(v, depth + 1));
    return value.length > 10 ? [...items, `…(${value.length})`] : items;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value).slice(0, MAX_FIELDS)) out[k] = bound(v, depth + 1);
  return out;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; stdout by default. */
  write?: (line: string) => void;
}

/** Creates the logger of one service; every line has `time`, `level`, `service` and `msg`. */
export function createLogger(service: string, options: LoggerOptions = {}): Logger {
  const min = LOG_LEVELS.indexOf(options.level ?? "info");
  const write = options.write ?? ((line: string) => Deno.stdout.writeSync(encoder.encode(line)));
  const make = (base: LogFields): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
      if (LOG_LEVELS.indexOf(level) < min) return;
      const extra = fields ? bound({ ...base, ...fields }) as LogFields : base;
      const line = JSON.stringify({
        time: new Date().toISOString(),
        level,
        service,
        msg: bound(msg),
        ...extra,
      });
      write(line + "\n");
    };
    return {
      debug: (m, f) => emit("debug", m, f),
      info: (m, f) => emit("info", m, f),
      warn: (m, f) => emit("warn", m, f),
      error: (m, f) => emit("error", m, f),
      child: (fields) => make({ ...base, ...bound(fields) as LogFields }),
    };
  };
  return make({});
}
