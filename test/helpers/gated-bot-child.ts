/**
 * `facefile bot` as `bin/facefile.js` runs it (the CLI, its signals and exit codes), with a gate in
 * front of its engine that the parent works through standard input: "hold" closes it (the child
 * answers "HELD" on standard output), "open" opens it. The parent can then stop the bot in the
 * middle of a burst whatever the machine's speed. The gate starts open.
 */
import { main } from '../../src/cli/index.ts';
import { Gate, gatedEngine } from './gate.ts';

const gate = new Gate(true);
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  for (const line of chunk.split('\n')) {
    if (line === 'hold') {
      gate.close();
      process.stdout.write('HELD\n');
    } else if (line === 'open') gate.open();
  }
});
// Standard input keeps the process alive while the gate holds (nothing else may); the parent's
// pipe stays open while it lives, so the child ends itself once the command returns.
process.exit(await main(['bot'], { bot: { wrapEngine: (engine) => gatedEngine(engine, gate) } }));
