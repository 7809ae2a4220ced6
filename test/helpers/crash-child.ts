/**
 * The process the crash-safety test kills: it opens a library on DATA_DIR, runs the consistency
 * check, then ingests (and now and then enrols) LFW photos from index START on, writing
 * "ACK <index> <kind> <hash>" synchronously after each operation returns, i.e. is acknowledged.
 * With VERIFY=1 it only runs the check and exits.
 */
import { writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { createLibrary } from '../../src/app/index.ts';
import { silentLog, sha256Hex } from '../../src/core/index.ts';
import { MeshFaceEngine } from '../../src/recognition/index.ts';
import { parsePairs } from '../../src/eval/verification.ts';
import { ENGINE_OPTIONS } from './engine.ts';
import { LFW } from './datasets.ts';

const say = (line: string) => writeSync(1, `${line}\n`);
const dataDir = process.env.DATA_DIR!;
const config = loadConfig({ DATA_DIR: dataDir }, { cwd: dataDir });
const engine = await MeshFaceEngine.create(ENGINE_OPTIONS);
const { library } = await createLibrary(config, engine, silentLog);
const reports = await library.checkConsistency();
say(`REPAIR ${JSON.stringify([...reports.values()])}`);
if (process.env.VERIFY) process.exit(0);
say('READY');
const images = [...new Set(parsePairs(await readFile(path.join(LFW, 'pairsDevTest.txt'), 'utf8')).flatMap((p) => [p.a, p.b]))].slice(0, 400);
for (let i = Number(process.env.START ?? 0); i < images.length; i++) {
  const bytes = await readFile(path.join(LFW, images[i]!));
  const hash = sha256Hex(bytes);
  const group = i % 2 === 0 ? 'tg:-100' : 'dc:200';
  if (i % 7 === 3) {
    const result = await library.enroll(group, { name: images[i]!.split('/')[0]!.replace(/_/g, ' '), photo: { bytes } });
    say(`ACK ${i} enroll-${result.kind} ${group} ${hash}`);
  } else {
    const result = await library.ingest(group, { bytes });
    say(`ACK ${i} ingest-${result.kind} ${group} ${hash}`);
  }
}
say('DONE');
