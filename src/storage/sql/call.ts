import { StorageError } from '../../core/index.ts';

/** Runs a query, turning a driver's failure into a StorageError that names what was being done. */
export async function call<T>(operation: string, message: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (cause) {
    if (cause instanceof StorageError) throw cause;
    throw new StorageError(message, operation, { cause });
  }
}
