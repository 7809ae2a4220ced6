import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A port nobody listens on now: the bot's webhook port must be known before the bot starts. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface LoadBalancer {
  /** `http://127.0.0.1:<port>`: the emulator's webhookTarget. */
  readonly origin: string;
  /** Which backend (index into the ports) each request went to, in order. */
  readonly routed: number[];
  close(): Promise<void>;
}

/**
 * A round-robin HTTP proxy in front of several bot processes, as a load balancer would be: each
 * request goes to the next backend; one that cannot be reached answers 502, as a balancer does.
 */
export async function startLoadBalancer(ports: readonly number[]): Promise<LoadBalancer> {
  const routed: number[] = [];
  let next = 0;
  const server: Server = createServer((req, res) => {
    const index = next++ % ports.length;
    routed.push(index);
    const upstream = request({ host: '127.0.0.1', port: ports[index], path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    routed,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** POSTs an update to a webhook as anyone could; resolves the HTTP status. */
export async function postToWebhook(url: string, update: unknown, secret?: string): Promise<number> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(secret === undefined ? {} : { 'x-telegram-bot-api-secret-token': secret }) },
    body: JSON.stringify(update),
  });
  await response.arrayBuffer();
  return response.status;
}
