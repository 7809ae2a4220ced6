/**
 * `facefile bot` as `bin/facefile.js` runs it (the CLI, its signals and exit codes), with a gate in
 * front of its engine that lets a counted number of photos through: `FACEFILE_TEST_PASS` photos at
 * the start (unset: every photo), then each one waits until the parent writes "open" on standard
 * input; "pass <n>", once open, lets <n> more through and holds the next again. The child says "HELD" on
 * standard output when the first photo of a hold waits at the gate. The parent can then stop or
 * kill the bot after a known number of photos, whatever the machine's speed.
 */
import { main } from '../../src/cli/index.ts';
import type { FaceEngine } from '../../src/core/index.ts';
import { Gate, countedEngine, type CountedHold } from './gate.ts';

const pass = process.env['FACEFILE_TEST_PASS'];
const hold: CountedHold = { passes: pass === undefined ? Infinity : Number(pass), gate: new Gate(pass === undefined), held: false };
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  for (const line of chunk.split('\n')) {
    const counted = /^pass (\d+)$/.exec(line);
    if (line === 'open') {
      hold.passes = Infinity;
      hold.gate.open();
    } else if (counted) {
      // After "open" (nobody waits): the next photos past the count wait at a new, closed gate.
      hold.passes = Number(counted[1]);
      hold.gate = new Gate();
      hold.held = false;
    }
  }
});
const wrapEngine = (engine: FaceEngine): FaceEngine => countedEngine(engine, hold);
// Standard input keeps the process alive while the gate holds; it ends itself once the command returns.
process.exit(await main(['bot'], { bot: { wrapEngine } }));
