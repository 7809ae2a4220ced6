import { lstat } from 'node:fs/promises';

/** The code of a file-system error (`ENOENT`, ...), if it has one. */
export function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** Whether a regular file is there, without following a symbolic link; failing to look is an error, never "no". */
export async function isFile(target: string): Promise<boolean> {
  try {
    return (await lstat(target)).isFile();
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw error;
  }
}
