import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { silentLog } from '../../src/core/index.ts';
import { PhotoQueue } from '../../src/jobs/index.ts';
import { CONTRACT_RETRY, photoJobsContract, type PhotoJobsHarness } from '../contracts/photo-jobs.contract.ts';
import { RecordingLibrary } from '../fakes/recording-library.ts';

photoJobsContract('PhotoQueue, the folder queue of one process', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-queue-contract-'));
  const library = new RecordingLibrary();
  const jobs = new PhotoQueue({ dir, library, log: silentLog, concurrency: 2, retry: CONTRACT_RETRY });
  const answers: { meta: Parameters<Parameters<PhotoQueue['onDone']>[1]>[0]; result: Parameters<Parameters<PhotoQueue['onDone']>[1]>[1] }[] = [];
  jobs.onDone('telegram', (meta, result) => Promise.resolve(void answers.push({ meta, result })));
  await jobs.start();
  t.after(async () => {
    await jobs.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const harness: PhotoJobsHarness = {
    jobs,
    library,
    answers,
    setAside: async () => {
      const names: string[] = [];
      for (const folder of ['dead-letter', 'quarantine'])
        names.push(...(await readdir(path.join(dir, folder)).catch(() => [] as string[])).filter((n) => n.endsWith('.bin')));
      return names;
    },
  };
  return harness;
});
