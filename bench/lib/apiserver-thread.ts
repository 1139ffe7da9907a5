/**
 * The fake kube-apiserver of test/helpers/fake-apiserver.ts in a worker thread of its own, holding N
 * ConfigMaps: its event loop is not the one of the benchmark's load client, so neither waits for the
 * other's work (as a real API server is another process). Driven by messages: stop/start (the link
 * down and up) and update (a change a watch must deliver).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { startFakeApiServer, type FakeApiServer } from '../../test/helpers/fake-apiserver.js';

const ROLE = 'gatehouse-bench-fake-apiserver';

export interface ThreadedApiServerOptions {
  /** How many ConfigMaps it holds, named configMapName(0 … n-1). */
  objects: number;
  namespace: string;
  /** Characters of the one data value of each ConfigMap (its size on the wire is about this + 300 B). */
  valueChars: number;
}

export interface ThreadedApiServer {
  url: string;
  port: number;
  /** The serving certificate (PEM) and the name it is valid for. */
  ca: string;
  serverName: string;
  token: string;
  kubeconfigPath: string;
  /** The list's resourceVersion after the objects were created. */
  resourceVersion: number;
  /**
   * Sets `data.seq` of ConfigMap `index` to `seq` (a MODIFIED event for watches); resolves with
   * process.hrtime.bigint() read just before the write, on the clock every thread and process shares.
   */
  update(index: number, seq: string): Promise<bigint>;
  /** Down (listener closed, every connection destroyed) and up again on the same port with the same state. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and ends the thread. */
  close(): Promise<void>;
}

export function configMapName(i: number): string {
  return `cm-${String(i).padStart(5, '0')}`;
}

interface Hello {
  url: string;
  ca: string;
  serverName: string;
  token: string;
  kubeconfigPath: string;
  resourceVersion: number;
}

type CommandBody = { cmd: 'stop' | 'start' | 'close' } | { cmd: 'update'; index: number; seq: string };
type Command = CommandBody & { id: number };
type Reply = { id: number; ok: true; stamp?: string } | { id: number; ok: false; error: string };

/** Starts the thread and the server in it; resolves once it serves with every object created. */
export async function startApiServerThread(o: ThreadedApiServerOptions): Promise<ThreadedApiServer> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { role: ROLE, options: o } });
  let failure: Error | undefined;
  const waiting = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  const hello = await new Promise<Hello>((resolve, reject) => {
    worker.once('message', (m: { hello?: Hello; error?: string }) => (m.hello ? resolve(m.hello) : reject(new Error(`fake API server thread: ${m.error}`))));
    worker.once('error', reject);
  });
  worker.on('message', (m: Reply) => {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    w?.resolve(m);
  });
  worker.on('error', (e) => {
    failure = e;
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
  });
  worker.on('exit', () => {
    failure ??= new Error('the fake API server thread exited');
    for (const w of waiting.values()) w.reject(failure);
    waiting.clear();
  });
  let next = 0;
  const call = async (c: CommandBody): Promise<Reply & { ok: true }> => {
    if (failure) throw failure;
    const id = ++next;
    const reply = await new Promise<Reply>((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      worker.postMessage({ ...c, id });
    });
    if (!reply.ok) throw new Error(`fake API server thread: ${c.cmd}: ${reply.error}`);
    return reply;
  };
  return {
    ...hello,
    port: Number(new URL(hello.url).port),
    async update(index, seq) {
      return BigInt((await call({ cmd: 'update', index, seq })).stamp!);
    },
    async stop() {
      await call({ cmd: 'stop' });
    },
    async start() {
      await call({ cmd: 'start' });
    },
    async close() {
      if (!failure) await call({ cmd: 'close' }).catch(() => undefined);
      await worker.terminate();
    },
  };
}

// ---------------------------------------------------------------- in the thread

function configMap(o: ThreadedApiServerOptions, i: number, seq: string): Record<string, unknown> {
  // Some variety, so that no two objects are the same bytes.
  const value = `${configMapName(i)}:`.padEnd(o.valueChars, 'abcdefghijklmnopqrstuvwxyz0123456789'[i % 36]!);
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: configMapName(i), namespace: o.namespace, labels: { app: 'edgehub-bench' } },
    data: { seq, value },
  };
}

async function serveInThread(): Promise<void> {
  const port = parentPort!;
  const o = (workerData as { options: ThreadedApiServerOptions }).options;
  let fake: FakeApiServer;
  try {
    fake = await startFakeApiServer();
    // The fake logs every request for tests to read; a benchmark sends hundreds of thousands.
    fake.onRequest = () => {
      if (fake.requests.length > 1000) fake.requests.length = 0;
    };
    for (let i = 0; i < o.objects; i++) fake.create(configMap(o, i, '0'));
  } catch (e) {
    port.postMessage({ error: String((e as Error)?.stack ?? e) });
    return;
  }
  const hello: Hello = { url: fake.url, ca: fake.ca, serverName: fake.serverName, token: fake.token, kubeconfigPath: fake.kubeconfigPath, resourceVersion: fake.resourceVersion };
  port.postMessage({ hello });
  port.on('message', (c: Command) => {
    const reply = (r: Omit<Reply & { ok: true }, 'id'>) => port.postMessage({ id: c.id, ...r });
    const fail = (e: unknown) => port.postMessage({ id: c.id, ok: false, error: String((e as Error)?.message ?? e) });
    try {
      switch (c.cmd) {
        case 'update': {
          const obj = configMap(o, c.index, c.seq);
          const stamp = process.hrtime.bigint();
          fake.update(obj);
          reply({ ok: true, stamp: String(stamp) });
          break;
        }
        case 'stop':
          fake.stop().then(() => reply({ ok: true }), fail);
          break;
        case 'start':
          fake.start().then(() => reply({ ok: true }), fail);
          break;
        case 'close':
          fake.close().then(() => {
            reply({ ok: true });
            port.close();
          }, fail);
          break;
      }
    } catch (e) {
      fail(e);
    }
  });
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === ROLE) void serveInThread();
