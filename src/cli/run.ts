import type { Diagnostic } from '../model/diagnostic.js';
import { loadManifests, type FieldLocator } from '../sources/files/load.js';
import { watchManifests } from '../sources/files/watch.js';
import { ObjectStore } from '../store/store.js';
import { defineCommand, formatHelp, parseCommandLine, UsageError } from './args.js';
import { locateDiagnostics } from './check.js';
import { untilSignal } from './signals.js';
import { checkServingFlags, servingFlags, startServing, type ServingSetup } from './serve.js';

export const runCommand = defineCommand({
  name: 'run',
  usage: 'gatehouse run --manifests PATH... [flags]',
  summary: 'Runs the gateway with Kubernetes YAML files as its source. The files are watched: a change on disk is served within a second, without a restart.',
  positionals: true,
  flags: {
    manifests: { type: 'strings', valueName: 'PATH', description: 'A YAML file, or a directory whose .yaml/.yml files are read; repeatable' },
    ...servingFlags,
  },
});

/** `gatehouse run`: returns the exit code once stopped by SIGTERM/SIGINT. */
export async function runGateway(argv: string[], hooks: { onStarted?: (ready: boolean) => void } = {}): Promise<number> {
  let values;
  let setup: ServingSetup;
  let positionals: string[];
  try {
    ({ values, positionals } = parseCommandLine(runCommand, argv));
    if (values.help) {
      process.stdout.write(formatHelp(runCommand) + '\n');
      return 0;
    }
    setup = await checkServingFlags(values);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`gatehouse run: ${e.message}\nRun "gatehouse run --help" for the flags.\n`);
      return 2;
    }
    throw e;
  }
  const paths = [...values.manifests, ...positionals];
  if (paths.length === 0) {
    process.stderr.write('gatehouse run: no manifests given: name a file or a directory with --manifests PATH\n');
    return 2;
  }

  const store = new ObjectStore();
  let sourceDiagnostics: Diagnostic[] = [];
  let locate: FieldLocator = () => undefined;
  const load = async (): Promise<void> => {
    const loaded = await loadManifests(paths);
    sourceDiagnostics = loaded.diagnostics;
    locate = loaded.locate;
    store.replaceAll(loaded.objects);
  };
  const serving = await startServing(values, setup, {
    objects: () => store.list(),
    sourceDiagnostics: () => sourceDiagnostics,
    locate: (d) => locateDiagnostics(d, locate),
    configMap: { name: 'gatehouse' },
  });
  const { gateway, log } = serving;
  log('info', 'gatehouse run starting', { manifests: paths, stateDir: serving.files.stateDir, http: values['http-port'], https: values['https-port'], admin: `${values['admin-address']}:${serving.adminPort}` });

  try {
    await load();
  } catch (e) {
    log('error', `reading the manifests failed: ${e instanceof Error ? e.message : String(e)}`);
    await serving.stop();
    return 2;
  }
  await gateway.sync();
  hooks.onStarted?.(gateway.ready);
  if (!gateway.serving) {
    log('error', `HAProxy could not start, so gatehouse stops: ${gateway.status().lastError ?? 'see the messages above'}`);
    await serving.stop();
    return 1;
  }
  // Sync after every read, even when no object changed: the problems found in the files may have.
  // Reads run one after the other, so an older read can never finish last and win.
  let reading: Promise<void> = Promise.resolve();
  const watch = watchManifests(paths, () => {
    reading = reading
      .then(() =>
        load().then(
          () => gateway.sync(),
          (e: unknown) => log('error', `reading the manifests failed; the last good state keeps serving: ${e instanceof Error ? e.message : String(e)}`),
        ),
      )
      .catch((e: unknown) => log('error', `applying the manifests failed: ${e instanceof Error ? e.message : String(e)}`));
  });

  await untilSignal(log);
  watch.close();
  await serving.stop();
  log('info', 'stopped');
  return 0;
}
