/** The logging the core needs: structured context first, then a message (pino's shape). */
export interface Log {
  info(context: object, message: string): void;
  warn(context: object, message: string): void;
  error(context: object, message: string): void;
}

/** A Log that drops everything, for callers that do not care. */
export const silentLog: Log = { info: () => undefined, warn: () => undefined, error: () => undefined };
