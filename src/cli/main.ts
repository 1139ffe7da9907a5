#!/usr/bin/env node
/**
 * `gatehouse <command> [flags]`: finds the command in the table and runs it. Exit codes: what the
 * command returns (0 ok, 1 problems found / failed, 2 usage mistakes).
 */
import { pathToFileURL } from 'node:url';
import { runCheck } from './check.js';
import { version } from './version.js';

type Command = { summary: string; run: (argv: string[]) => Promise<number> };

const stdout = (s: string): void => {
  process.stdout.write(`${s}\n`);
};
const stderr = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

export const commands: Record<string, Command> = {
  run: { summary: 'Run the gateway with Kubernetes YAML files as its source', run: async (argv) => (await import('./run.js')).runGateway(argv) },
  controller: {
    summary: 'Run the gateway with a Kubernetes cluster as its source (in a pod, or with --kubeconfig)',
    run: async (argv) => (await import('./controller.js')).runController(argv),
  },
  check: { summary: 'Check manifests the way the gateway reads them; print every problem', run: (argv) => runCheck(argv, stdout, stderr) },
  'device-plugin': { summary: 'Run the kubelet device plugin for Intel QAT virtual functions (VFIO)', run: async (argv) => (await import('./device-plugin.js')).runDevicePlugin(argv) },
  'edge-hub': {
    summary: 'Run the node-local caching proxy in front of kube-apiserver, so node components keep working offline',
    run: async (argv) => (await import('./edge-hub.js')).runEdgeHub(argv),
  },
  observe: {
    summary: 'Show the flows the gateway saw: requests and TLS handshakes, filtered like hubble observe',
    run: async (argv) => (await import('./observe.js')).runObserve(argv, stdout, stderr),
  },
  autonomy: {
    summary: 'Keep pods on autonomous edge nodes from being evicted while their node is unreachable',
    run: async (argv) => (await import('./autonomy.js')).runAutonomy(argv),
  },
  version: {
    summary: 'Print the version',
    run: async () => {
      stdout(`gatehouse ${version()}`);
      return 0;
    },
  },
  help: {
    summary: 'Show this help, or a command\'s (gatehouse help COMMAND)',
    run: async (argv) => {
      const [name] = argv;
      if (name === undefined) {
        stdout(usage());
        return 0;
      }
      const cmd = commands[name];
      if (cmd === undefined || name === 'help') return unknownCommand(name);
      return cmd.run(['--help']);
    },
  },
};

export function usage(): string {
  const names = Object.keys(commands);
  const width = Math.max(...names.map((n) => n.length)) + 2;
  return [
    'Usage: gatehouse <command> [flags]',
    '',
    'Gatehouse: an ingress gateway for Kubernetes, with HAProxy as its data plane.',
    '',
    'Commands:',
    ...names.map((n) => `  ${n.padEnd(width)}${commands[n]!.summary}`),
    '',
    'Run "gatehouse <command> --help" for its flags.',
  ].join('\n');
}

function unknownCommand(name: string): number {
  stderr(`gatehouse: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
  return 2;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    stderr(usage());
    return 2;
  }
  if (name === '--help' || name === '-h') return commands['help']!.run([]);
  if (name === '--version') return commands['version']!.run([]);
  const cmd = Object.prototype.hasOwnProperty.call(commands, name) ? commands[name] : undefined;
  if (cmd === undefined) return unknownCommand(name);
  return cmd.run(rest);
}

// Run only as the program (not when imported by a test).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      stderr(`gatehouse: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      process.exitCode = 1;
    },
  );
}
