import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Log } from '../core/index.ts';
import { StartupError, describeError } from '../core/index.ts';
import { redactSecrets } from '../logger.ts';
import type { Metrics } from './metrics.ts';
import { withTimeout } from './timeout.ts';

/** Resolves when a dependency the process needs can serve (a `SELECT 1`, a Redis `PING`, a `getMe`). */
export type ReadinessCheck = () => Promise<void>;

export interface ObservabilityOptions {
  /** METRICS_PORT; 0 takes a free port (tests). */
  readonly port: number;
  /** 0.0.0.0 by default: Prometheus and the orchestrator's probes reach a container from outside. */
  readonly host?: string;
  readonly metrics: Metrics;
  /** What `/readyz` runs, by name: `{ database, redis, telegram }`. */
  readonly checks: Readonly<Record<string, ReadinessCheck>>;
  readonly log: Log;
  /** How long each readiness check may take before it counts as failed (default 2 s). */
  readonly checkTimeoutMs?: number;
}

export interface ObservabilityServer {
  readonly port: number;
  /** Stops listening and drops open connections; the process may then exit. */
  close(): Promise<void>;
}

/** The answer of `/readyz`: each check's `ok` or its short, redacted failure. */
export interface Readiness {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, string>>;
}

/** A failure message is a hint for the operator, not a stack: the log has the rest. */
const MAX_MESSAGE = 200;

/**
 * Serves what operators and orchestrators ask a long-running process:
 *
 * - `GET /metrics`: the Prometheus text exposition of `metrics.registry`;
 * - `GET /healthz`: liveness, 200 `ok` whenever the event loop gets to answer (a blocked loop
 *   answers nothing, and the probe's own timeout fails it);
 * - `GET /readyz`: readiness, every check run at once with a timeout; 200 when all pass, else 503,
 *   with each check's result in JSON. Failure messages go through the log's secret redaction (a
 *   database URL keeps its host, not its password).
 *
 * HEAD is answered like GET without a body; other methods get 405, other paths 404. A failing
 * check, scrape or request never throws out of the server.
 */
export async function serveObservability(options: ObservabilityOptions): Promise<ObservabilityServer> {
  const { metrics, checks, log } = options;
  const checkTimeoutMs = options.checkTimeoutMs ?? 2_000;
  const host = options.host ?? '0.0.0.0';
  /** The last result of each check, so that a probe every few seconds logs changes, not repeats. */
  const lastResults = new Map<string, string>();

  async function readiness(): Promise<Readiness> {
    const names = Object.keys(checks);
    const results = await Promise.allSettled(names.map((name) => withTimeout(checks[name]!, checkTimeoutMs)));
    const answers: Record<string, string> = {};
    results.forEach((result, i) => {
      const name = names[i]!;
      const answer = result.status === 'fulfilled' ? 'ok' : shortReason(result.reason);
      answers[name] = answer;
      if (lastResults.get(name) === answer) return;
      if (answer === 'ok') {
        if (lastResults.has(name)) log.info({ check: name }, 'readiness check passes again');
      } else log.warn({ check: name, reason: answer }, 'readiness check failed');
      lastResults.set(name, answer);
    });
    return { ready: Object.values(answers).every((a) => a === 'ok'), checks: answers };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (!ROUTES.has(path)) return send(res, 404, TEXT, 'not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(res, 405, TEXT, 'method not allowed\n');
    }
    switch (path) {
      case '/metrics':
        return send(res, 200, metrics.registry.contentType, await metrics.registry.metrics());
      case '/healthz':
        return send(res, 200, TEXT, 'ok\n');
      case '/readyz': {
        const answer = await readiness();
        return send(res, answer.ready ? 200 : 503, 'application/json; charset=utf-8', `${JSON.stringify(answer)}\n`);
      }
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const reason = shortReason(error);
      metrics.countError('scrape');
      log.error({ path: req.url, reason }, 'observability: request failed');
      if (!res.headersSent) send(res, 500, TEXT, `failed: ${reason}\n`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'is in use' : `cannot be opened (${describeError(error)})`;
      reject(new StartupError(`the metrics port ${host}:${options.port} ${why}; set METRICS_PORT to a free one`, { cause: error }));
    });
    server.listen(options.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ host, port }, 'serving /metrics, /healthz and /readyz');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Prometheus keeps its connection open between scrapes; close() alone would wait for it.
        server.closeAllConnections();
      }),
  };
}

const ROUTES = new Set(['/metrics', '/healthz', '/readyz']);
const TEXT = 'text/plain; charset=utf-8';

function send(res: ServerResponse, status: number, type: string, body: string): void {
  // Node leaves out the body of a HEAD answer by itself; the headers stay as for GET.
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

/** One line, without secrets, not too long. */
function shortReason(error: unknown): string {
  const line = redactSecrets(describeError(error)).replace(/\s+/g, ' ').trim() || 'failed';
  return line.length > MAX_MESSAGE ? `${line.slice(0, MAX_MESSAGE - 1)}…` : line;
}
