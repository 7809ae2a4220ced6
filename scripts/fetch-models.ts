/**
 * `npm install` (postinstall) and `npm run models`: takes the model files facefile uses from the
 * registry tarballs of packages that are not dependencies (models/manifest.json, `fetched`), into
 * node_modules/.cache/facefile. Offline, it says so and lets the install finish: the engines that
 * need those files then refuse to start with the same hint, and the others work.
 */
import { MODEL_CACHE_DIR, fetchedFiles } from '../src/recognition/models.ts';
import { fetchPackageFiles, fetchedPackageDir } from '../src/recognition/model-fetch.ts';

const strict = process.argv.includes('--strict');
let failed = false;
for (const { name, version, files } of fetchedFiles()) {
  try {
    const outcome = await fetchPackageFiles(name, version, files, fetchedPackageDir(MODEL_CACHE_DIR, name, version));
    if (outcome.fetched.length > 0) console.log(`facefile: took ${outcome.fetched.length} model files from ${name}@${version} (checksums verified)`);
  } catch (error) {
    failed = true;
    console.warn(`facefile: could not take the model files from ${name}@${version}: ${error instanceof Error ? error.message : String(error)}`);
    console.warn('facefile: run `npm run models` once the npm registry is reachable.');
  }
}
if (failed && strict) process.exitCode = 1;
