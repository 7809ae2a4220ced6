/**
 * `facefile import <args>` as `bin/facefile.js` runs it (the CLI, Ctrl-C, exit codes), with a gate
 * in front of its engine: the first `FACEFILE_TEST_PASS` photos are analysed, the others wait until
 * the parent writes "open" on standard input (the child says "HELD" on standard output when the
 * first of them waits). The parent can then see or stop the import part way whatever the machine's
 * speed.
 */
import { main } from '../../src/cli/index.ts';
import type { DecodedImage, DetectedFace, FaceEngine } from '../../src/core/index.ts';
import { Gate } from './gate.ts';

const gate = new Gate();
let passes = Number(process.env['FACEFILE_TEST_PASS'] ?? '0');
let held = false;
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  if (chunk.split('\n').includes('open')) gate.open();
});
const wrapEngine = (engine: FaceEngine): FaceEngine => ({
  info: engine.info,
  async detect(image: DecodedImage): Promise<DetectedFace[]> {
    if (passes > 0) passes--;
    else {
      if (!held) process.stdout.write('HELD\n');
      held = true;
      await gate.pass();
    }
    return engine.detect(image);
  },
  close: () => engine.close(),
});
// Standard input keeps the process alive while the gate holds; it ends itself once the command returns.
process.exit(await main(['import', ...process.argv.slice(2)], { import: { wrapEngine } }));
