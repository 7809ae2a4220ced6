import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { BotApiEmulator } from '../emulators/telegram/index.ts';
import { GROUP, NO_DATASETS, POSTS, ROOT, readLabels, shouldBeFiled } from '../helpers/datasets.ts';
import { answerTo, textOf } from '../helpers/telegram.ts';
import { until } from '../helpers/until.ts';

const run = promisify(execFile);
const IMAGE = 'localhost/facefile:smoke-test';
/** The base the Dockerfile builds FROM; made here by ../shared/containers/make-node-base.sh. */
const BASE = 'docker.io/library/node:20-bookworm-slim';
const CA = '/etc/ssl/certs/ca-certificates.crt';

async function podman(args: readonly string[], timeoutMs = 120_000): Promise<{ stdout: string; stderr: string }> {
  return run('podman', [...args], { maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs });
}

/** Why the smoke test cannot run here, or undefined when podman and the base image are there. */
async function unavailable(): Promise<string | undefined> {
  if (NO_DATASETS) return NO_DATASETS;
  try {
    await podman(['info'], 30_000);
  } catch (error) {
    return `podman does not work here (${(error as Error).message.split('\n')[0]}): the container smoke test needs it`;
  }
  try {
    await podman(['image', 'exists', BASE], 30_000);
  } catch {
    return `the base image ${BASE} is not here and no registry can be reached: build it with ../shared/containers/make-node-base.sh`;
  }
  return undefined;
}

const skip = await unavailable();

/**
 * The image as a user builds and runs it (deploy/Dockerfile, podman): built behind this machine's
 * proxy with its CA passed as a build secret, then `archive` over the shared posts, then `bot`
 * against the Telegram emulator, stopped with SIGTERM.
 */
describe('the container image (deploy/Dockerfile), built and run with podman', { skip: skip ?? false }, () => {
  it('GIVEN the image THEN archive sorts the posts, the bot files a photo, and SIGTERM stops it cleanly', { timeout: 1_500_000 }, async (t) => {
    const work = await mkdtemp(path.join(os.tmpdir(), 'facefile-container-'));
    const name = `facefile-smoke-${process.pid}`;
    const volume = `${name}-data`;
    const emulator = await BotApiEmulator.start();
    t.after(async () => {
      await podman(['rm', '-f', name]).catch(() => undefined);
      await podman(['volume', 'rm', '-f', volume]).catch(() => undefined);
      await emulator.close();
      await rm(work, { recursive: true, force: true });
    });

    await podman(
      ['build', '--network=host', '--secret', `id=ca,src=${CA}`, '--env', 'npm_config_nodedir=/usr/local', '-f', 'deploy/Dockerfile', '-t', IMAGE, ROOT],
      1_200_000,
    );
    const size = Number((await podman(['image', 'inspect', IMAGE, '--format', '{{.Size}}'])).stdout.trim());
    t.diagnostic(`image size: ${(size / 1e6).toFixed(0)} MB`);

    // facefile archive, as the Dockerfile's header shows it: the folders mounted at their defaults.
    const archive = path.join(work, 'archive');
    await run('mkdir', ['-p', archive]);
    await chmod(archive, 0o777);
    const people = (await readdir(GROUP)).filter((p) => !p.startsWith('_') && !p.startsWith('.'));
    const known = people.flatMap((p) => ['-v', `${path.join(GROUP, p)}:/known/${p}:ro`]);
    const sorted = await podman(['run', '--rm', '-v', `${POSTS}:/photos:ro`, ...known, '-v', `${archive}:/archive`, IMAGE, 'archive'], 600_000);
    assert.match(sorted.stdout, /Sorting \d+ photos by the faces of 13 known people/);
    const labels = await readLabels();
    let filed = 0;
    for (const person of people) {
      for (const file of await readdir(path.join(archive, person)).catch(() => [] as string[])) {
        assert.notEqual(shouldBeFiled(labels, file, person), false, `${file} filed under ${person}`);
        filed++;
      }
    }
    assert.ok(filed >= 20, `${filed} photos filed under people`);

    // facefile bot against the emulator on the host's network, then SIGTERM.
    const ada = emulator.user(1, 'Ada');
    emulator.addChat({ id: -7001, type: 'supergroup', title: 'Container' }, { creator: ada });
    await podman([
      'run',
      '-d',
      '--name',
      name,
      '--network=host',
      '-v',
      `${volume}:/data`,
      '-e',
      `TELEGRAM_BOT_TOKEN=${emulator.token}`,
      '-e',
      `TELEGRAM_API_ROOT=${emulator.apiRoot}`,
      IMAGE,
      'bot',
    ]);
    const logs = async () => {
      const { stdout, stderr } = await podman(['logs', name]);
      return stdout + stderr;
    };
    await until(async () => (await logs()).includes('facefile bot is running'), 'the bot to start', 300_000, 500);
    const file = (await readdir(path.join(GROUP, 'obama'))).sort()[0]!;
    const enrol = await emulator.postPhoto(-7001, ada, await readFile(path.join(GROUP, 'obama', file)), { caption: '/enroll Obama' });
    assert.match(textOf(await emulator.waitFor(answerTo(enrol), 120_000)), /enrolled/i);
    await podman(['stop', '--time', '60', name], 120_000);
    const exit = (await podman(['inspect', name, '--format', '{{.State.ExitCode}}'])).stdout.trim();
    const output = await logs();
    assert.equal(exit, '0', output.slice(-2000));
    assert.match(output, /"msg":"stopped"/);
    assert.ok(!output.includes(emulator.token), 'no token in the log');
  });
});
