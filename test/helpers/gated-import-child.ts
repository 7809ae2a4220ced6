/**
 * `facefile import <args>` as `bin/facefile.js` runs it (the CLI, Ctrl-C, exit codes), with a gate
 * in front of its engine: the first `FACEFILE_TEST_PASS` photos are analysed, the others wait until
 * the parent writes "open" on standard input (the child says "HELD" on standard output when the
 * first of them waits). The parent can then see or stop the import part way whatever the machine's
 * speed.
 */
import { main } from '../../src/cli/index.ts';
import type { FaceEngine } from '../../src/core/index.ts';
import { Gate, countedEngine, type CountedHold } from './gate.ts';

const hold: CountedHold = { passes: Number(process.env['FACEFILE_TEST_PASS'] ?? '0'), gate: new Gate(), held: false };
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  if (chunk.split('\n').includes('open')) hold.gate.open();
});
const wrapEngine = (engine: FaceEngine): FaceEngine => countedEngine(engine, hold);
// Standard input keeps the process alive while the gate holds; it ends itself once the command returns.
process.exit(await main(['import', ...process.argv.slice(2)], { import: { wrapEngine } }));
