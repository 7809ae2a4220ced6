import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The shared test data (../shared/datasets beside the checkout, or FACEFILE_DATASETS). Tests that
 * need it skip with this message when it is absent, rather than pass without looking.
 */
export const DATASETS = process.env.FACEFILE_DATASETS ?? path.resolve(ROOT, '..', 'shared', 'datasets');
export const HAVE_DATASETS = existsSync(path.join(DATASETS, 'group-photos', '_posts', 'labels.json'));
export const NO_DATASETS = HAVE_DATASETS ? false : `test data not found at ${DATASETS} (set FACEFILE_DATASETS)`;

export const GROUP = path.join(DATASETS, 'group-photos');
export const POSTS = path.join(GROUP, '_posts');
export const LFW = path.join(DATASETS, 'lfw-dev');
export const BAD_IMAGES = path.join(DATASETS, 'bad-images');

export interface PostLabel {
  readonly people: readonly string[];
  readonly unknownFaces: number;
  readonly note?: string;
}
