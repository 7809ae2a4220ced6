import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { parse as parseYaml } from 'yaml';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, settingWarnings } from '../../src/config.ts';

/**
 * The deploy files (deploy/, .dockerignore) are checked with what runs without a Docker engine or a
 * booted systemd: Compose's own parser and systemd's own verifiers where they are installed (each
 * test skips with the reason where not), and structural checks of the invariants that a careless
 * edit breaks: a root user or a compiler in the image, a secret in the build context, a long-running
 * service without a health check, a worker that does not share the data volume, a setting the app
 * does not know.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const DEPLOY = path.join(ROOT, 'deploy');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end without blocking this process (an HTTP server of the test may answer it). */
function run(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(new Error(`${command} could not run`, { cause: error }));
      else resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
  });
}

/** Whether `command args` runs and exits 0 (e.g. `docker compose version`). */
function works(command: string, args: readonly string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

// --- Dockerfile -------------------------------------------------------------------------------------

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** The Dockerfile's instructions, per stage (a stage starts at FROM), with continuation lines joined. */
function dockerStages(text: string): Instruction[][] {
  const joined = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ');
  const stages: Instruction[][] = [];
  for (const line of joined.split('\n')) {
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const instruction = { keyword: match[1]!.toUpperCase(), args: match[2]!.trim() };
    if (instruction.keyword === 'FROM') stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  return stages;
}

const COMPILERS = /(?<![\w.-])(g\+\+|gcc|clang|make|python3|build-essential|node-gyp)(?![\w.+-])/;

/**
 * Docker's .dockerignore rules (moby/patternmatcher): patterns are relative to the context's root,
 * `*` and `?` stay within one path segment, `**` spans any, a pattern that matches a folder matches
 * everything in it, `!` re-includes, and the last matching pattern wins.
 */
function dockerIgnored(patterns: readonly string[], file: string): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = path.posix.normalize((negated ? raw.slice(1) : raw).trim()).replace(/^\/+/, '');
    const source = pattern
      .split(/(\*\*\/|\*\*|\*|\?)/)
      .map((part) => ({ '**/': '(?:.*/)?', '**': '.*', '*': '[^/]*', '?': '[^/]' })[part] ?? part.replace(/[.+^${}()|[\]\\]/g, '\\$&'))
      .join('');
    const regex = new RegExp(`^${source}$`);
    const segments = file.split('/');
    const matches = segments.some((_, i) => regex.test(segments.slice(0, i + 1).join('/')));
    if (matches) ignored = !negated;
  }
  return ignored;
}

// --- compose.yaml -----------------------------------------------------------------------------------

interface ComposeService {
  readonly image?: string;
  readonly build?: unknown;
  readonly command?: readonly string[];
  readonly environment?: Readonly<Record<string, string | number | boolean>>;
  readonly env_file?: string | readonly string[];
  readonly volumes?: readonly string[];
  readonly healthcheck?: { readonly test?: readonly string[] };
  readonly deploy?: { readonly replicas?: number };
  readonly profiles?: readonly string[];
  readonly depends_on?: Readonly<Record<string, { readonly condition?: string }>>;
  readonly restart?: string;
  readonly ports?: readonly string[];
}

interface ComposeFile {
  readonly services: Readonly<Record<string, ComposeService>>;
  readonly volumes?: Readonly<Record<string, unknown>>;
}

/** Compose's `${NAME}`, `${NAME:-default}` and `${NAME:?error}`, from `vars`; a missing required one throws. */
function interpolate(value: string, vars: Readonly<Record<string, string>>): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g, (_, name: string, kind: string | undefined, rest: string | undefined) => {
    const set = vars[name];
    if (set !== undefined && set !== '') return set;
    if (kind === '?') throw new Error(`${name} is required: ${rest ?? ''}`);
    return kind === '-' ? (rest ?? '') : '';
  });
}

/** Services that run the facefile image (as opposed to PostgreSQL and Redis). */
function facefileServices(compose: ComposeFile): [string, ComposeService][] {
  return Object.entries(compose.services).filter(([, service]) => service.build !== undefined);
}

const PLACEHOLDERS = { POSTGRES_PASSWORD: 'placeholder0secret' };

describe('deploy files: the container image (deploy/Dockerfile, .dockerignore)', () => {
  let dockerfile = '';
  let stages: Instruction[][] = [];
  let ignore: string[] = [];
  before(async () => {
    dockerfile = await readFile(path.join(DEPLOY, 'Dockerfile'), 'utf8');
    stages = dockerStages(dockerfile);
    ignore = (await readFile(path.join(ROOT, '.dockerignore'), 'utf8')).split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
  });

  it('GIVEN the Dockerfile THEN a build stage installs the production dependencies and the runtime stage takes only its node_modules', () => {
    assert.ok(stages.length >= 2, `expected a build and a runtime stage, found ${stages.length} FROM`);
    const build = stages[0]!;
    const buildName = /\bAS\s+(\S+)/i.exec(build[0]!.args)?.[1];
    assert.ok(buildName, 'the build stage is named (FROM ... AS build)');
    assert.ok(
      build.some((i) => i.keyword === 'RUN' && /\bnpm ci\b.*--omit=dev/.test(i.args)),
      'npm ci --omit=dev in the build stage',
    );
    assert.ok(
      build.some((i) => i.keyword === 'ENV' && /ONNXRUNTIME_NODE_INSTALL=skip/.test(i.args)),
      'ONNXRUNTIME_NODE_INSTALL=skip for the install',
    );
    const final = stages.at(-1)!;
    assert.ok(
      final.some((i) => i.keyword === 'COPY' && i.args.includes(`--from=${buildName}`) && /node_modules/.test(i.args)),
      'the runtime stage copies node_modules from the build stage',
    );
    assert.ok(!final.some((i) => i.keyword === 'RUN' && /\bnpm (ci|install)\b/.test(i.args)), 'no install in the runtime stage');
  });

  it('GIVEN the runtime stage THEN it has no compiler, runs as a non-root user, and tini is PID 1', () => {
    const final = stages.at(-1)!;
    for (const instruction of final.filter((i) => i.keyword === 'RUN')) {
      assert.doesNotMatch(instruction.args, COMPILERS, `a compiler in the runtime stage: RUN ${instruction.args}`);
    }
    assert.match(stages[0]!.map((i) => i.args).join('\n'), COMPILERS, 'the build stage has the compilers (the check above looks for the right names)');
    const user = final.filter((i) => i.keyword === 'USER').at(-1)?.args;
    assert.ok(user, 'the runtime stage sets USER');
    assert.ok(!['root', '0', '0:0', 'root:root'].includes(user), `USER ${user} is root`);
    const entrypoint = final.find((i) => i.keyword === 'ENTRYPOINT')?.args ?? '';
    assert.match(entrypoint, /tini.*"--".*"node".*bin\/facefile\.js/, 'tini -- node bin/facefile.js');
    assert.ok(
      final.some((i) => i.keyword === 'RUN' && /\btini\b/.test(i.args)),
      'tini is installed in the runtime stage',
    );
    assert.ok(
      final.some((i) => i.keyword === 'ENV' && /\bDATA_DIR=\/data\b/.test(i.args)),
      'ENV DATA_DIR=/data',
    );
    assert.ok(
      final.some((i) => i.keyword === 'RUN' && /chown\s+node:node\s+\/data\b/.test(i.args)),
      '/data belongs to the node user',
    );
  });

  it('GIVEN .dockerignore THEN secrets, user data and node_modules stay out of the context, and everything the image copies is in it', () => {
    for (const file of [
      '.env',
      '.env.production',
      'node_modules/sharp/package.json',
      'src/node_modules/x.js',
      'data/library.sqlite',
      'photos/a.jpg',
      'known/Ann/1.jpg',
      'archive/Ann/1.jpg',
      'zips/Ann.zip',
      '.git/HEAD',
      'test/unit/config.test.ts',
      'models/face_recognition_model.bin',
      'facefile.log',
      'deploy/compose.yaml',
    ]) {
      assert.ok(dockerIgnored(ignore, file), `${file} is in the build context`);
    }
    // Every tracked file under what the stages COPY from the context must reach it; models/ is
    // copied whole, but only its manifest is read at run time (custom weights are mounted).
    const copiedSources = stages
      .flat()
      .filter((i) => i.keyword === 'COPY' && !i.args.includes('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    for (const file of ['package.json', 'package-lock.json', 'tsconfig.json', 'bin', 'src', 'models']) {
      assert.ok(copiedSources.includes(file), `the image copies ${file}: COPY ${copiedSources.join(' ')}`);
    }
    const tracked = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
    const needed = tracked.filter((file) => copiedSources.some((source) => file === source || file.startsWith(`${source}/`)));
    assert.ok(needed.includes('src/archive/manifest.ts') && needed.includes('models/manifest.json'), 'the tracked files are listed');
    const missing = needed.filter((file) => dockerIgnored(ignore, file) && !(file.startsWith('models/') && file !== 'models/manifest.json'));
    assert.deepEqual(missing, [], 'files the image copies but .dockerignore leaves out');
  });
});

describe('deploy files: the scale-out set (deploy/compose.yaml)', () => {
  let compose: ComposeFile = { services: {} };
  before(async () => {
    compose = parseYaml(await readFile(path.join(DEPLOY, 'compose.yaml'), 'utf8'), { merge: true }) as ComposeFile;
  });

  it('GIVEN the services THEN PostgreSQL, Redis, the bot and the workers run, and the archiver only when asked for', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['archive', 'bot', 'postgres', 'redis', 'worker']);
    assert.deepEqual(compose.services['bot']?.command, ['bot']);
    assert.deepEqual(compose.services['worker']?.command, ['worker']);
    assert.deepEqual(compose.services['archive']?.profiles, ['archive'], 'archive is behind a profile, so `up` does not run it');
    assert.ok((compose.services['worker'].deploy?.replicas ?? 1) >= 2, 'at least two workers');
    const redis = compose.services['redis'];
    assert.match(redis?.command?.join(' ') ?? '', /--appendonly yes/, 'Redis keeps the jobs on disk');
  });

  it('GIVEN every long-running service THEN it has a health check, a restart policy, and the facefile ones wait for healthy PostgreSQL and Redis', () => {
    const longRunning = Object.entries(compose.services).filter(([, service]) => service.profiles === undefined);
    assert.ok(longRunning.length >= 4);
    for (const [name, service] of longRunning) {
      assert.ok((service.healthcheck?.test?.length ?? 0) > 0, `${name} has no healthcheck`);
      assert.equal(service.restart, 'unless-stopped', `${name} restart`);
    }
    for (const name of ['bot', 'worker']) {
      const service = compose.services[name]!;
      assert.match(service.healthcheck?.test?.join(' ') ?? '', /^CMD node -e .*\/readyz/, `${name} is healthy when ready`);
      assert.deepEqual(service.depends_on, { postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } }, name);
    }
  });

  it('GIVEN the facefile services THEN each mounts the one shared data volume at DATA_DIR', () => {
    const services = facefileServices(compose);
    assert.deepEqual(services.map(([name]) => name).sort(), ['archive', 'bot', 'worker']);
    const mounts = services.map(([name, service]) => {
      const named = (service.volumes ?? []).filter((volume) => /^[a-z][\w-]*:/.test(volume)).map((volume) => volume.split(':'));
      assert.equal(named.length, 1, `${name} mounts one named volume: ${JSON.stringify(service.volumes)}`);
      const [volume, target] = named[0]!;
      assert.equal(service.environment?.['DATA_DIR'], target, `${name}: DATA_DIR is where the volume is mounted`);
      return `${volume}:${target}`;
    });
    assert.equal(new Set(mounts).size, 1, `one volume at one path: ${mounts.join(', ')}`);
    assert.ok(Object.keys(compose.volumes ?? {}).includes(mounts[0]!.split(':')[0]!), 'the volume is declared');
  });

  it('GIVEN the environment the compose file sets THEN every key is a facefile setting and every value passes its validation', () => {
    for (const [name, service] of facefileServices(compose)) {
      const env = Object.fromEntries(Object.entries(service.environment ?? {}).map(([key, value]) => [key, interpolate(String(value), PLACEHOLDERS)]));
      assert.ok(Object.keys(env).length > 0, `${name} sets an environment`);
      assert.deepEqual(settingWarnings(env), [], `${name}: keys facefile does not know`);
      const config = loadConfig(env);
      if (name === 'archive') continue;
      assert.equal(config.databaseUrl, `postgres://facefile:${PLACEHOLDERS.POSTGRES_PASSWORD}@postgres:5432/facefile`, name);
      assert.equal(config.redisUrl, 'redis://redis:6379', name);
      assert.equal(config.metricsPort, 9464, name);
    }
  });

  it('GIVEN the database password THEN it is a required variable, never a value in the file', () => {
    const password = compose.services['postgres']?.environment?.['POSTGRES_PASSWORD'];
    assert.match(String(password), /^\$\{POSTGRES_PASSWORD:\?[^}]+\}$/);
    const url = String(compose.services['bot']?.environment?.['DATABASE_URL']);
    assert.throws(() => interpolate(url, {}), /POSTGRES_PASSWORD is required/);
  });

  it('GIVEN Compose (docker compose, or docker-compose) THEN it accepts the file, and refuses it without POSTGRES_PASSWORD', async (t) => {
    const compose = works('docker', ['compose', 'version'])
      ? { command: 'docker', prefix: ['compose'] }
      : works('docker-compose', ['version'])
        ? { command: 'docker-compose', prefix: [] }
        : undefined;
    if (!compose) {
      t.skip('neither `docker compose` (the Compose plugin) nor `docker-compose` is installed: the file is not parsed by Compose itself');
      return;
    }
    // The compose file's env_file is ../.env: a copy of it in a scratch folder gets a placeholder
    // .env there, and the project's own .env (if any) is never touched.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-compose-'));
    try {
      await mkdir(path.join(dir, 'deploy'));
      await copyFile(path.join(DEPLOY, 'compose.yaml'), path.join(dir, 'deploy', 'compose.yaml'));
      const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== 'POSTGRES_PASSWORD' && !key.startsWith('COMPOSE_')));
      const config = (envFile: string) =>
        run(compose.command, [...compose.prefix, '--env-file', envFile, '-f', 'deploy/compose.yaml', 'config'], { cwd: dir, env });

      await writeFile(path.join(dir, '.env'), `POSTGRES_PASSWORD=${PLACEHOLDERS.POSTGRES_PASSWORD}\n`);
      const accepted = await config('.env');
      assert.equal(accepted.code, 0, accepted.stderr);
      assert.match(accepted.stdout, /postgres:\/\/facefile:placeholder0secret@postgres:5432\/facefile/);

      await writeFile(path.join(dir, 'empty.env'), '');
      const refused = await config('empty.env');
      assert.notEqual(refused.code, 0, 'accepted without POSTGRES_PASSWORD');
      assert.match(refused.stderr, /POSTGRES_PASSWORD/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** The `node -e` script of a health check given in exec form (["CMD", "node", "-e", script] or ["node", "-e", script]). */
function nodeScript(test: readonly string[]): string {
  const args = test[0] === 'CMD' ? test.slice(1) : test;
  assert.equal(args.length, 3, JSON.stringify(test));
  assert.deepEqual(args.slice(0, 2), ['node', '-e'], 'node -e: the slim image has no curl');
  return args[2]!;
}

describe('deploy files: the health checks (image /healthz, compose /readyz) against a real HTTP server', () => {
  let server: Server;
  let port = 0;
  const answers: Record<string, number> = {};
  let imageCheck = '';
  let composeCheck = '';
  before(async () => {
    const healthcheck = dockerStages(await readFile(path.join(DEPLOY, 'Dockerfile'), 'utf8'))
      .at(-1)!
      .find((i) => i.keyword === 'HEALTHCHECK')?.args;
    assert.ok(healthcheck, 'the runtime stage has a HEALTHCHECK');
    imageCheck = nodeScript(JSON.parse(healthcheck.replace(/^.*?\bCMD\s+/, '')) as string[]);
    const compose = parseYaml(await readFile(path.join(DEPLOY, 'compose.yaml'), 'utf8'), { merge: true }) as ComposeFile;
    composeCheck = nodeScript(compose.services['worker']?.healthcheck?.test ?? []);
    server = createServer((request, response) => {
      const status = answers[request.url ?? ''] ?? 404;
      response.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'redis: connection refused');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const check = (script: string, metricsPort: string | undefined) =>
    run(process.execPath, ['-e', script], { env: { PATH: process.env['PATH'] ?? '', ...(metricsPort === undefined ? {} : { METRICS_PORT: metricsPort }) } });

  it('GIVEN a process alive (/healthz 200) but not ready (/readyz 503) THEN the image check passes and the compose check fails, saying why', async () => {
    answers['/healthz'] = 200;
    answers['/readyz'] = 503;
    assert.equal((await check(imageCheck, String(port))).code, 0);
    const result = await check(composeCheck, String(port));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\/readyz answered 503/);
  });

  it('GIVEN a ready process (/readyz 200) but a failing /healthz THEN the compose check passes and the image check fails', async () => {
    answers['/healthz'] = 500;
    answers['/readyz'] = 200;
    assert.equal((await check(composeCheck, String(port))).code, 0);
    const result = await check(imageCheck, String(port));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\/healthz answered 500/);
  });

  it('GIVEN nothing listening on METRICS_PORT THEN both checks fail', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const freePort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    assert.equal((await check(imageCheck, String(freePort))).code, 1);
    assert.equal((await check(composeCheck, String(freePort))).code, 1);
  });

  it('GIVEN no METRICS_PORT (a one-shot archive run) THEN the image check has nothing to ask and passes', async () => {
    assert.equal((await check(imageCheck, undefined)).code, 0);
    assert.equal((await check(imageCheck, '0')).code, 0);
  });
});

describe('deploy files: the systemd units and user', () => {
  const units = ['facefile-bot.service', 'facefile-worker@.service'];
  let texts: Record<string, string> = {};
  let scratch = '';
  before(async () => {
    texts = Object.fromEntries(await Promise.all(units.map(async (unit) => [unit, await readFile(path.join(DEPLOY, unit), 'utf8')] as const)));
    scratch = await mkdtemp(path.join(os.tmpdir(), 'facefile-systemd-'));
  });
  after(() => rm(scratch, { recursive: true, force: true }));

  const setting = (unit: string, key: string) => [...(texts[unit] ?? '').matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!);

  it('GIVEN systemd-analyze THEN it verifies both units without a complaint', async (t) => {
    if (!works('systemd-analyze', ['--version'])) {
      t.skip('systemd-analyze is not installed (Debian package systemd): the units are not verified');
      return;
    }
    if (!existsSync('/usr/bin/node')) {
      t.skip('there is no /usr/bin/node here, which the units run: systemd-analyze would only report that');
      return;
    }
    for (const unit of units) {
      const result = await run('systemd-analyze', ['verify', '--man=no', path.join(DEPLOY, unit)]);
      assert.equal(result.code, 0, `${unit}: ${result.stderr}`);
      assert.equal(result.stderr.trim(), '', `${unit}: systemd-analyze complained`);
    }
  });

  it("GIVEN systemd-sysusers THEN the sysusers file creates the user the units run as, with the units' state folder as home", async (t) => {
    if (!works('systemd-sysusers', ['--version'])) {
      t.skip('systemd-sysusers is not installed (Debian package systemd): the sysusers file is not checked');
      return;
    }
    const root = path.join(scratch, 'root');
    await mkdir(path.join(root, 'etc', 'sysusers.d'), { recursive: true });
    await copyFile(path.join(DEPLOY, 'facefile.sysusers.conf'), path.join(root, 'etc', 'sysusers.d', 'facefile.conf'));
    const result = await run('systemd-sysusers', [`--root=${root}`]);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /facefile\.conf:\d+/, 'systemd-sysusers complained about the file');
    const passwd = await readFile(path.join(root, 'etc', 'passwd'), 'utf8');
    for (const unit of units) {
      const [user] = setting(unit, 'User');
      const [state] = setting(unit, 'StateDirectory');
      assert.match(passwd, new RegExp(`^${user}:x:\\d+:\\d+:[^:]*:/var/lib/${state}:`, 'm'), `${unit}: User=${user} with home /var/lib/${state}`);
    }
  });

  it('GIVEN the units THEN they read /opt/facefile/.env, run the same binary with bot or worker, and each worker instance gets its own metrics port', () => {
    for (const unit of units) {
      assert.deepEqual(setting(unit, 'EnvironmentFile'), ['/opt/facefile/.env'], unit);
      for (const key of ['NoNewPrivileges', 'ProtectSystem', 'ProtectHome', 'PrivateTmp']) assert.equal(setting(unit, key).length, 1, `${unit}: ${key}`);
    }
    assert.deepEqual(setting('facefile-bot.service', 'ExecStart'), ['/usr/bin/node /opt/facefile/bin/facefile.js bot']);
    const [worker] = setting('facefile-worker@.service', 'ExecStart');
    assert.match(worker ?? '', /^\/usr\/bin\/env METRICS_PORT=\d*%i \/usr\/bin\/node \/opt\/facefile\/bin\/facefile\.js worker$/);
    const port = worker!.replace(/^.*METRICS_PORT=(\d*)%i.*$/, '$1');
    for (const instance of ['0', '9']) assert.equal(loadConfig({ METRICS_PORT: `${port}${instance}` }).metricsPort, Number(`${port}${instance}`));
  });

  it('GIVEN a start that ends 1 (a service unreachable at boot, after its tries) THEN both units restart it, without a start limit; not on 2 (a wrong setting)', () => {
    for (const unit of units) {
      assert.deepEqual(setting(unit, 'Restart'), ['on-failure'], unit);
      assert.deepEqual(setting(unit, 'RestartPreventExitStatus'), ['2'], unit);
      assert.deepEqual(setting(unit, 'StartLimitIntervalSec'), ['0'], `${unit}: systemd never gives up after a long outage`);
      const unitSection = (texts[unit] ?? '').split('[Service]')[0] ?? '';
      assert.match(unitSection, /^StartLimitIntervalSec=0$/m, `${unit}: StartLimitIntervalSec belongs in [Unit]`);
    }
  });

  it('GIVEN the Node version check both units run first THEN it passes on this Node and fails, saying why, on one older than 20.9', async () => {
    const checks = units.map((unit) => setting(unit, 'ExecStartPre').map((line) => /^\/usr\/bin\/node -e "([^"\\%$]*)"$/.exec(line)?.[1]));
    assert.deepEqual(checks[0], checks[1], 'both units check the same way');
    const script = checks[0]?.[0];
    assert.ok(script, 'ExecStartPre=/usr/bin/node -e "..." with no quote, backslash, % or $ for systemd to expand');
    const withVersion = async (version: string) => {
      const fake = path.join(scratch, `node-${version}.cjs`);
      await writeFile(
        fake,
        `Object.defineProperty(process.versions, 'node', { value: '${version}' });\nObject.defineProperty(process, 'version', { value: 'v${version}' });\n`,
      );
      return run(process.execPath, ['--require', fake, '-e', script]);
    };
    assert.equal((await run(process.execPath, ['-e', script])).code, 0, `this Node, ${process.version}`);
    assert.equal((await withVersion('22.1.0')).code, 0);
    assert.equal((await withVersion('20.9.0')).code, 0);
    for (const old of ['20.8.1', '18.20.4']) {
      const result = await withVersion(old);
      assert.equal(result.code, 1, old);
      assert.match(result.stderr, new RegExp(`needs Node\\.js 20\\.9 or later, and /usr/bin/node is v${old.replace(/\./g, '\\.')}`));
    }
  });
});
