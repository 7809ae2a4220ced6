/**
 * Errors for broken infrastructure and bugs. Expected outcomes (an undecodable photo, no face,
 * an unknown person) are values, not exceptions: see `DecodeFailure` and `FaceMatch`.
 */
export class FacefileError extends Error {
  override name = 'FacefileError';
}

/** The configuration is invalid; `issues` lists every bad key, one line each. */
export class ConfigError extends FacefileError {
  override name = 'ConfigError';
  constructor(readonly issues: readonly string[]) {
    super(`invalid configuration:\n  ${issues.join('\n  ')}`);
  }
}

/** A path given by the user is missing, not what it should be, or unreadable. */
export class PathError extends FacefileError {
  override name = 'PathError';
  constructor(
    readonly path: string,
    readonly problem: 'missing' | 'not-a-folder' | 'not-a-file' | 'unreadable' | 'unwritable' | 'full',
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${PATH_PROBLEMS[problem]}`, options);
  }
}

const PATH_PROBLEMS: Record<PathError['problem'], string> = {
  missing: 'no such file or folder',
  'not-a-folder': 'is not a folder',
  'not-a-file': 'is not a file',
  unreadable: 'cannot be read (permission denied)',
  unwritable: 'cannot be written (read-only, or permission denied)',
  full: 'cannot be written (the disk is full)',
};

/**
 * A file the user handed over is not what it should be (a backup that is not one, a damaged
 * export): one line naming the file and what is wrong with it, exit code 2.
 */
export class InputError extends FacefileError {
  override name = 'InputError';
  constructor(
    readonly file: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${problem}`, options);
  }
}

/**
 * A service the process needs at start refused it or could not be reached (a wrong bot token, an
 * unreachable or silent API, a data folder in use): one line for the user, exit code 2.
 */
export class StartupError extends FacefileError {
  override name = 'StartupError';
}

/**
 * Another facefile (a bot, most often) holds the data folder: one writer at a time. `holder` names
 * it (process and host) when it is known.
 */
export class DataDirInUseError extends StartupError {
  override name = 'DataDirInUseError';
  constructor(
    readonly dataDir: string,
    readonly holder: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(
      `${dataDir} is ${holder ? `in use by another facefile (${holder})` : 'locked by another facefile'}; stop it first, or give this one its own DATA_DIR`,
      options,
    );
  }
}

/**
 * A service the process needs could not be reached at start (nothing listening, a timeout, a name
 * that does not resolve yet, a server still starting): maybe a passing outage, so the start tries
 * again for a while, and then ends with exit code 1 for its supervisor to restart it. A wrong
 * setting (a refused token or password) stays a plain `StartupError`, exit code 2.
 */
export class ServiceUnavailableError extends StartupError {
  override name = 'ServiceUnavailableError';
}

/** The recognition engine could not start or failed while running. */
export class EngineError extends FacefileError {
  override name = 'EngineError';
}

/** A store failed; never to be mistaken for "not found". */
export class StorageError extends FacefileError {
  override name = 'StorageError';
  constructor(
    message: string,
    readonly operation: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The short human message of any thrown value, without a stack. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
