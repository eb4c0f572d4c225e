/** A configuration value is missing or does not parse; names the variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Redis cannot be reached or answered in a way that breaks our assumptions. */
export class RedisUnavailableError extends Error {
  override name = "RedisUnavailableError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Input from outside (the relay, a client) is malformed; `reason` is a stable metric label. */
export class InvalidInputError extends TypeError {
  override name = "InvalidInputError";
  constructor(readonly reason: string, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Our own persisted state contradicts itself: the only kind of error that stops a service. */
export class StateCorruptionError extends Error {
  override name = "StateCorruptionError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** The message of any thrown value, for logs. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
