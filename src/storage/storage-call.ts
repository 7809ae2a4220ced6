import { StorageError } from '../core/index.ts';

/** Runs a store's call (keyv or SQL), turning whatever it throws into a `StorageError` that names what was being done. */
export async function storageCall<R>(operation: string, message: string, call: () => Promise<R>): Promise<R> {
  try {
    return await call();
  } catch (cause) {
    if (cause instanceof StorageError) throw cause;
    throw new StorageError(message, operation, { cause });
  }
}
