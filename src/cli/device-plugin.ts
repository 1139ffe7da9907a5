/**
 * `gatehouse device-plugin`: the kubelet device plugin for Intel QAT virtual functions (VFIO).
 * Parses the flags and runs the plugin until SIGTERM/SIGINT; docs/device-plugin.md tells the rest.
 */
import { resolve } from 'node:path';
import { QatDevicePlugin, type QatPluginOptions } from '../deviceplugin/plugin.js';
import { ALLOCATION_POLICIES } from '../deviceplugin/policy.js';
import { RESOURCE_NAMINGS } from '../deviceplugin/resources.js';
import { parseDurationMs } from '../translate/values.js';
import { defineCommand, formatHelp, parseCommandLine, UsageError } from './args.js';
import { jsonLog } from './log.js';
import { untilSignal } from './signals.js';

export const devicePluginCommand = defineCommand({
  name: 'device-plugin',
  usage: 'gatehouse device-plugin [flags]',
  summary:
    'Runs the kubelet device plugin for Intel QAT virtual functions: advertises the VFs bound to vfio-pci as qat.intel.com/* ' +
    'resources, with their health and NUMA node, and hands a pod its VFs through VFIO (/dev/vfio/<group>, QAT0… variables).',
  flags: {
    'kubelet-dir': { type: 'string', default: '/var/lib/kubelet/device-plugins', valueName: 'DIR', description: "The kubelet's device-plugin directory: kubelet.sock is there, and the plugin's sockets go there" },
    'sysfs-root': { type: 'string', default: '/sys', valueName: 'DIR', description: 'Where sysfs is mounted (PCI devices, drivers, debugfs heartbeat)' },
    'dev-root': { type: 'string', default: '/dev', valueName: 'DIR', description: 'Where the host\'s /dev is: /dev/vfio/<group> is looked up, and handed to pods, under it' },
    'resource-naming': {
      type: 'string',
      choices: RESOURCE_NAMINGS,
      default: 'generic',
      description: 'generic: every VF is qat.intel.com/generic; services: Gen4+ VFs by their PF\'s configured services (qat.intel.com/cy, dc, sym, asym, sym-dc, asym-dc)',
    },
    'allocation-policy': { type: 'string', choices: ALLOCATION_POLICIES, default: 'balanced', description: 'How GetPreferredAllocation picks VFs: balanced spreads a container over PFs, packed fills one PF first' },
    'max-devices': { type: 'integer', min: 1, max: 65536, valueName: 'N', description: 'Advertise at most N VFs per resource (without it: every VF bound to vfio-pci)' },
    'rescan-interval': { type: 'string', default: '5s', valueName: 'DURATION', description: 'How often sysfs is scanned for devices and health (ms, s, m; e.g. 500ms, 5s)' },
    bind: { type: 'boolean', description: 'Rebind QAT VFs from their kernel driver to vfio-pci (needs root and a writable /sys; off by default)' },
  },
});

/** The plugin's settings from the command line (everything but the logger); throws UsageError. */
export function devicePluginSettings(argv: readonly string[]): Omit<QatPluginOptions, 'log'> | 'help' {
  const { values } = parseCommandLine(devicePluginCommand, argv);
  if (values.help) return 'help';
  const interval = parseDurationMs(values['rescan-interval']);
  if (!interval.ok) throw new UsageError(`--rescan-interval: ${interval.error}`);
  if (interval.value < 100) throw new UsageError(`--rescan-interval ${values['rescan-interval']} is too short: scan at most every 100ms`);
  return {
    sysfsRoot: resolve(values['sysfs-root']),
    devRoot: resolve(values['dev-root']),
    kubeletDir: resolve(values['kubelet-dir']),
    naming: values['resource-naming'],
    policy: values['allocation-policy'],
    maxDevices: values['max-devices'],
    bind: values.bind,
    rescanMs: interval.value,
  };
}

export async function runDevicePlugin(argv: string[]): Promise<number> {
  let settings;
  try {
    settings = devicePluginSettings(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`gatehouse device-plugin: ${e.message}\nRun "gatehouse device-plugin --help" for the flags.\n`);
      return 2;
    }
    throw e;
  }
  if (settings === 'help') {
    process.stdout.write(formatHelp(devicePluginCommand) + '\n');
    return 0;
  }

  const log = jsonLog;
  log('info', 'gatehouse device-plugin starting', { ...settings });
  const stopped = untilSignal(log);
  const plugin = new QatDevicePlugin({ ...settings, log });
  await plugin.start();

  await stopped;

  await plugin.stop();
  log('info', 'stopped');
  return 0;
}
