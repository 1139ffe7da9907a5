/**
 * deploy/: the Kustomize base and the `accelerated` and `edge` overlays, rendered by the real
 * `kubectl kustomize`. Every rendered object is validated against the Kubernetes OpenAPI schemas
 * (kubernetes-models), unknown fields included, and then the properties that matter are checked one
 * by one: the pod security settings (and the few host accesses allowed, each with its reason), the
 * probes, the resources, least-privilege RBAC, the NetworkPolicy keeping the admin port closed; the
 * accelerated overlay's RuntimeClass, QAT resource, crypto settings and device plugin; the edge
 * overlay's edge-hub (loopback only, host-path cache, no RBAC), gateway DaemonSet through it, and
 * autonomy controller.
 *
 * The Dockerfile is checked statically only: this test does not build the image.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { DaemonSet, Deployment, type IDaemonSet, type IDeployment } from 'kubernetes-models/apps/v1';
import { Lease } from 'kubernetes-models/coordination.k8s.io/v1';
import { EndpointSlice } from 'kubernetes-models/discovery.k8s.io/v1';
import { Ingress, IngressClass, NetworkPolicy, type IIngressClass, type INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { RuntimeClass, type IRuntimeClass } from 'kubernetes-models/node.k8s.io/v1';
import { PodDisruptionBudget, type IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import {
  ClusterRole,
  ClusterRoleBinding,
  Role,
  RoleBinding,
  type IClusterRole,
  type IClusterRoleBinding,
  type IRole,
  type IRoleBinding,
} from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import {
  ConfigMap,
  Namespace,
  Secret,
  Service,
  ServiceAccount,
  type IConfigMap,
  type IContainer,
  type IPodSpec,
  type IPodTemplateSpec,
  type IProbe,
  type IService,
  type IServiceAccount,
} from 'kubernetes-models/v1';
import { devicePluginSettings } from '../../src/cli/device-plugin.js';
import { resourceName } from '../../src/deviceplugin/resources.js';
import { SETTINGS } from '../../src/translate/settings.js';

const execFileAsync = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');

const NAMESPACE = 'gatehouse';
const ADMIN_PORT = 9180;
const QAT_RESOURCE = 'qat.intel.com/generic';
/** The node label the operator sets on edge nodes (deploy/overlays/edge). */
const EDGE_LABEL = 'gatehouse.io/edge';
/**
 * Where the gateway on an edge node reaches its node's edge-hub: the https listener, since
 * @kubernetes/client-node sends no bearer token over plain http.
 */
const EDGE_HUB_URL = 'https://127.0.0.1:10268';
/** The edge-hub's plain-http listener, for node components built on client-go. */
const EDGE_HUB_HTTP_URL = 'http://127.0.0.1:10261';
/** The edge-hub's directory on the node (its --cache-dir: cache/ and tls/). */
const EDGE_HUB_DIR = '/var/lib/gatehouse/edge-hub';
/** Where the gateway on an edge node mounts EDGE_HUB_DIR (read-only), and the CA it trusts there. */
const EDGE_HUB_MOUNT = '/var/run/gatehouse/edge-hub';
const EDGE_HUB_CA = `${EDGE_HUB_MOUNT}/tls/tls.crt`;
/** The uid and gid of the gateway on an edge node: not the edge-hub's 10001, which owns cache/ (0700). */
const EDGE_GATEWAY_UID = 10002;

// ---------------------------------------------------------------------------------------------
// Rendering and schema validation

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

type ModelClass = new (data: never) => { validate(): void };

/** apiVersion/kind → the kubernetes-models class whose schema validates it. */
const MODELS: Readonly<Record<string, ModelClass>> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/DaemonSet': DaemonSet,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'networking.k8s.io/v1/IngressClass': IngressClass,
  'networking.k8s.io/v1/Ingress': Ingress,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'discovery.k8s.io/v1/EndpointSlice': EndpointSlice,
  'coordination.k8s.io/v1/Lease': Lease,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'node.k8s.io/v1/RuntimeClass': RuntimeClass,
};

/**
 * Validates one object against its schema. The generated validators do not refuse fields the schema
 * does not know (no additionalProperties: false), but the API server does (kubectl apply: strict
 * field validation), and a misspelt field such as readOnlyRootFileSystem would silently do nothing.
 * So the validator runs on a proxy that records every property it reads: a validator reads each
 * property its schema declares, and every key of a map; a key it never read is unknown.
 */
function schemaProblems(obj: unknown): string[] {
  if (!isRecord(obj) || typeof obj['apiVersion'] !== 'string' || typeof obj['kind'] !== 'string') {
    return ['not a Kubernetes object (apiVersion and kind must be strings)'];
  }
  const key = `${obj['apiVersion']}/${obj['kind']}`;
  const Model = MODELS[key];
  if (!Model) return [`no schema known for ${key}: add its kubernetes-models class to MODELS in this test`];
  const model = new Model(obj as never);
  const read = new WeakMap<object, Set<string>>();
  const proxies = new WeakMap<object, object>();
  const wrap = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object') return v;
    const known = proxies.get(v);
    if (known) return known;
    const keys = new Set<string>();
    read.set(v, keys);
    const p = new Proxy(v, {
      get(target, prop, receiver) {
        if (typeof prop === 'string') keys.add(prop);
        return wrap(Reflect.get(target, prop, receiver));
      },
    });
    proxies.set(v, p);
    return p;
  };
  const problems: string[] = [];
  try {
    (model.validate as (this: unknown) => void).call(wrap(model));
  } catch (e) {
    problems.push((e as Error).message);
  }
  const walk = (v: unknown, path: string): void => {
    if (v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) {
      v.forEach((item, i) => walk(item, `${path}[${i}]`));
      return;
    }
    const keys = read.get(v);
    if (!keys) return; // never reached by the schema: free-form, or below a field already reported
    for (const [k, child] of Object.entries(v)) {
      const p = path ? `${path}.${k}` : k;
      if (!keys.has(k)) problems.push(`${p}: unknown field (not in the ${key} schema)`);
      else walk(child, p);
    }
  };
  walk(model, '');
  return problems;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

async function kustomize(dir: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync('kubectl', ['kustomize', join(ROOT, dir)], { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') {
      throw new Error('kubectl was not found on PATH: these tests render deploy/ with `kubectl kustomize` (kubectl with kustomize v5); install kubectl and run them again');
    }
    throw new Error(`kubectl kustomize ${dir} failed: ${err.stderr?.trim() || err.message}`);
  }
}

/** Renders a kustomization and parses every document; fails on YAML errors. */
async function render(dir: string): Promise<K8sObject[]> {
  const text = await kustomize(dir);
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    assert.deepEqual(doc.errors.map((e) => e.message), [], `${dir}: YAML errors in the rendered output`);
    const v: unknown = doc.toJS();
    if (v === null || v === undefined) continue;
    assert.ok(isRecord(v) && isRecord(v['metadata']) && typeof v['metadata']['name'] === 'string', `${dir}: a rendered document is not an object with metadata.name`);
    objects.push(v as K8sObject);
  }
  assert.ok(objects.length > 0, `${dir}: kubectl kustomize rendered nothing`);
  return objects;
}

const rendered = new Map<string, Promise<K8sObject[]>>();
function objectsOf(dir: string): Promise<K8sObject[]> {
  let p = rendered.get(dir);
  if (!p) {
    p = render(dir);
    rendered.set(dir, p);
  }
  return p;
}

const id = (o: K8sObject): string => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;

function all<T>(objs: K8sObject[], kind: string): T[] {
  return objs.filter((o) => o.kind === kind) as unknown as T[];
}

function one<T>(objs: K8sObject[], kind: string, name?: string): T {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  assert.equal(found.length, 1, `expected exactly one ${kind}${name ? ` named ${name}` : ''}, found ${found.length}`);
  return found[0] as unknown as T;
}

// ---------------------------------------------------------------------------------------------
// Helpers on pods and flags

interface Workload {
  what: string;
  template: IPodTemplateSpec;
}

function workloads(objs: K8sObject[]): Workload[] {
  return [...all<IDeployment>(objs, 'Deployment'), ...all<IDaemonSet>(objs, 'DaemonSet')].map((w) => ({
    what: `${w.kind} ${w.metadata?.namespace}/${w.metadata?.name}`,
    template: w.spec!.template,
  }));
}

function podSpec(w: { spec?: { template: IPodTemplateSpec } }): IPodSpec {
  const spec = w.spec?.template.spec;
  assert.ok(spec, 'pod template has a spec');
  return spec;
}

function gatewayDeployment(objs: K8sObject[]): IDeployment {
  return one<IDeployment>(objs, 'Deployment', 'gatehouse');
}

/** The gateway's workload: the base's Deployment, or the edge overlay's DaemonSet (never both). */
function gatewayWorkload(objs: K8sObject[]): IDeployment | IDaemonSet {
  const found = objs.filter((o) => (o.kind === 'Deployment' || o.kind === 'DaemonSet') && o.metadata.name === 'gatehouse' && o.metadata.namespace === NAMESPACE);
  assert.equal(found.length, 1, `expected one gateway workload (Deployment or DaemonSet ${NAMESPACE}/gatehouse), found ${found.map(id).join(', ') || 'none'}`);
  return found[0] as unknown as IDeployment | IDaemonSet;
}

function gatewayContainer(objs: K8sObject[]): IContainer {
  const containers = podSpec(gatewayWorkload(objs)).containers;
  assert.equal(containers.length, 1, 'the gateway pod has one container');
  return containers[0]!;
}

/** Every value of a repeatable flag, in order. */
function flagValues(args: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith(`${name}=`)) values.push(a.slice(name.length + 1));
    else if (a === name && i + 1 < args.length) values.push(args[++i]!);
  }
  return values;
}

/** 127.0.0.0/8 or ::1 (as an address or a URL's host). */
function isLoopback(host: string): boolean {
  return /^127(\.\d{1,3}){3}$/.test(host) || host === '::1' || host === '[::1]';
}

/** The value of `--name=value` or `--name value` in an argument list. */
function flag(args: readonly string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith(`${name}=`)) return a.slice(name.length + 1);
    if (a === name) return args[i + 1];
  }
  return undefined;
}

function containerPort(c: IContainer, port: number | string): number {
  if (typeof port === 'number') return port;
  const named = c.ports?.find((p) => p.name === port);
  assert.ok(named, `container ${c.name}: port ${JSON.stringify(port)} is not one of its named ports`);
  return named.containerPort;
}

function httpProbe(c: IContainer, probe: IProbe | undefined, what: string): { path: string; port: number } {
  assert.ok(probe, `container ${c.name}: ${what} is set`);
  assert.ok(probe.httpGet, `container ${c.name}: ${what} is an HTTP GET`);
  return { path: probe.httpGet.path ?? '/', port: containerPort(c, probe.httpGet.port) };
}

function matches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/**
 * Flags a command accepts, read from its `--help`; an unknown command fails the test. A command that
 * is registered but not built yet (it says "not built yet") has none: `built` is false.
 */
async function commandFlags(command: string): Promise<Set<string>> {
  try {
    const { stdout } = await execFileAsync(process.execPath, [MAIN, command, '--help']);
    return new Set([...stdout.matchAll(/^\s+(?:-\w, )?(--[a-z][a-z0-9-]*)/gm)].map((m) => m[1]!));
  } catch (e) {
    const err = e as { stderr?: string };
    if (err.stderr?.includes(`unknown command "${command}"`)) assert.fail(`gatehouse ${command} is not a command of this build`);
    throw e;
  }
}

/**
 * Workloads that need more than the "restricted" Pod Security level allows: what exactly, and why
 * (their manifests explain it too). Anything not listed here is refused, and a namespace running any
 * of them must be labelled "privileged", every other one "restricted".
 */
interface HostAccess {
  why: string;
  hostNetwork?: true;
  /** Host paths it mounts. */
  hostPaths?: readonly string[];
  /** Containers (init containers included) that run as root, each with the capabilities it adds. */
  root?: Readonly<Record<string, readonly string[]>>;
}
const HOST_ACCESS: Readonly<Record<string, HostAccess>> = {
  'DaemonSet gatehouse-device-plugin/gatehouse-device-plugin': {
    why: 'the kubelet\'s device-plugin directory belongs to root; /sys and /dev/vfio (read-only) show the QAT VFs',
    hostPaths: ['/var/lib/kubelet/device-plugins', '/dev/vfio', '/sys'],
    root: { 'device-plugin': [] },
  },
  'DaemonSet gatehouse/gatehouse': {
    why: 'the gateway on an edge node reaches its node\'s edge-hub on 127.0.0.1, and trusts the certificate the edge-hub made in its directory on the host (mounted read-only; as another uid than the edge-hub it can read tls/tls.crt, not cache/)',
    hostNetwork: true,
    hostPaths: [EDGE_HUB_DIR],
  },
  'DaemonSet gatehouse-edge-hub/gatehouse-edge-hub': {
    why: 'the edge-hub serves the node\'s clients on 127.0.0.1, and its cache must survive on the host; the init container gives the edge-hub\'s directory to the edge-hub\'s uid (chown, then chmod 0755 once no longer root\'s; the edge-hub makes cache/ 0700 inside it)',
    hostNetwork: true,
    hostPaths: [EDGE_HUB_DIR],
    root: { 'cache-dir': ['CHOWN', 'FOWNER'] },
  },
};

/** Workloads whose containers run as a non-root uid other than the image's 10001, and why. */
const OTHER_UIDS: Readonly<Record<string, { uid: number; why: string }>> = {
  'DaemonSet gatehouse/gatehouse': {
    uid: EDGE_GATEWAY_UID,
    why: 'it mounts the edge-hub\'s directory, whose cache/ (0700) belongs to the edge-hub\'s uid 10001',
  },
};

function needsHost(pod: IPodSpec): boolean {
  const root = [...(pod.initContainers ?? []), ...pod.containers].some((c) => (c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser) === 0);
  return pod.hostNetwork === true || pod.hostPID === true || pod.hostIPC === true || (pod.volumes ?? []).some((v) => v.hostPath) || root;
}

// ---------------------------------------------------------------------------------------------
// Checks that hold for the base and for every overlay

const READ_VERBS = new Set(['get', 'list', 'watch']);
/** resource (group/resource) → the only write verbs allowed on it. */
const WRITES: Readonly<Record<string, readonly string[]>> = {
  'networking.k8s.io/ingresses/status': ['update', 'patch'],
  '/events': ['create', 'patch'],
  'coordination.k8s.io/leases': ['create', 'update'],
};
/** Everything the controller may read. */
const READS = new Set([
  'networking.k8s.io/ingresses',
  'networking.k8s.io/ingressclasses',
  '/services',
  'discovery.k8s.io/endpointslices',
  '/secrets',
  '/configmaps',
  'coordination.k8s.io/leases',
]);

function commonChecks(dir: string): void {
  it('renders with kubectl kustomize, and every object validates against its Kubernetes schema (unknown fields refused)', async () => {
    const objs = await objectsOf(dir);
    const problems = objs.flatMap((o) => schemaProblems(o).map((p) => `${id(o)}: ${p}`));
    assert.deepEqual(problems, []);
  });

  it('has the objects of the base, namespaced objects in their namespaces', async () => {
    const objs = await objectsOf(dir);
    for (const [kind, name] of [
      ['Namespace', NAMESPACE],
      ['ServiceAccount', 'gatehouse'],
      ['ClusterRole', 'gatehouse'],
      ['ClusterRoleBinding', 'gatehouse'],
      ['Role', 'gatehouse'],
      ['RoleBinding', 'gatehouse'],
      ['Service', 'gatehouse'],
      ['IngressClass', 'gatehouse'],
      ['ConfigMap', 'gatehouse'],
      ['PodDisruptionBudget', 'gatehouse'],
      ['NetworkPolicy', 'gatehouse'],
    ] as const) {
      one(objs, kind, name);
    }
    gatewayWorkload(objs);
    const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'IngressClass', 'RuntimeClass']);
    const namespaces = new Set(all<K8sObject>(objs, 'Namespace').map((n) => n.metadata.name));
    for (const o of objs) {
      if (clusterScoped.has(o.kind)) assert.equal(o.metadata.namespace, undefined, `${id(o)} is cluster-scoped and has no namespace`);
      else assert.ok(o.metadata.namespace && namespaces.has(o.metadata.namespace), `${id(o)}: its namespace is one the manifests create`);
    }
    for (const o of objs.filter((x) => x.metadata.labels?.['app.kubernetes.io/component'] === 'gateway')) {
      assert.equal(o.metadata.namespace, NAMESPACE, `${id(o)} is in the ${NAMESPACE} namespace`);
    }
  });

  it('runs every container without privileges: read-only root file system, all capabilities dropped (added back only where HOST_ACCESS says why), no escalation, RuntimeDefault seccomp', async () => {
    const objs = await objectsOf(dir);
    const ws = workloads(objs);
    assert.ok(ws.length > 0);
    for (const w of ws) {
      const pod = w.template.spec!;
      const access = HOST_ACCESS[w.what];
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        const where = `${w.what} container ${c.name}`;
        const sc = c.securityContext;
        assert.ok(sc, `${where}: securityContext is set`);
        assert.equal(sc.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
        assert.equal(sc.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation false`);
        assert.notEqual(sc.privileged, true, `${where}: not privileged`);
        assert.ok(sc.capabilities?.drop?.includes('ALL'), `${where}: capabilities.drop has ALL`);
        assert.deepEqual([...(sc.capabilities?.add ?? [])].sort(), [...(access?.root?.[c.name] ?? [])].sort(), `${where}: only the capabilities HOST_ACCESS names are added`);
        const seccomp = sc.seccompProfile?.type ?? pod.securityContext?.seccompProfile?.type;
        assert.equal(seccomp, 'RuntimeDefault', `${where}: seccomp RuntimeDefault`);
      }
      if (pod.hostNetwork) assert.equal(access?.hostNetwork, true, `${w.what}: the host network only where HOST_ACCESS says why`);
      assert.notEqual(pod.hostPID, true, `${w.what}: no host PID namespace`);
      assert.notEqual(pod.hostIPC, true, `${w.what}: no host IPC namespace`);
      for (const v of pod.volumes ?? []) {
        if (v.hostPath) assert.ok(access?.hostPaths?.includes(v.hostPath.path), `${w.what}: host path ${v.hostPath.path} only where HOST_ACCESS says why`);
      }
    }
  });

  it('runs every container non-root as uid 10001 (another only where OTHER_UIDS says why); root only where HOST_ACCESS says why, and explicitly', async () => {
    const objs = await objectsOf(dir);
    for (const w of workloads(objs)) {
      const pod = w.template.spec!;
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        const uid = c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
        const nonRoot = c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
        if (HOST_ACCESS[w.what]?.root?.[c.name]) {
          assert.equal(c.securityContext?.runAsUser, 0, `${w.what} container ${c.name}: runs as root, said in the container (${HOST_ACCESS[w.what]!.why})`);
          continue;
        }
        assert.equal(nonRoot, true, `${w.what} container ${c.name}: runAsNonRoot`);
        const expected = OTHER_UIDS[w.what]?.uid ?? 10001;
        assert.equal(uid, expected, `${w.what} container ${c.name}: runAsUser ${expected}${OTHER_UIDS[w.what] ? ` (${OTHER_UIDS[w.what]!.why})` : ''}`);
      }
    }
    assert.equal(podSpec(gatewayWorkload(objs)).securityContext?.runAsNonRoot, true, 'the gateway pod is runAsNonRoot');
  });

  it('labels each namespace with the strictest Pod Security level its pods allow: "restricted", or "privileged" where a pod needs the host', async () => {
    const objs = await objectsOf(dir);
    for (const ns of all<K8sObject>(objs, 'Namespace')) {
      const name = ns.metadata.name;
      const host = workloads(objs).filter((w) => w.what.split(' ')[1]!.startsWith(`${name}/`) && needsHost(w.template.spec!));
      const expected = host.length > 0 ? 'privileged' : 'restricted';
      assert.equal(ns.metadata.labels?.['pod-security.kubernetes.io/enforce'], expected, `Namespace ${name}: enforce ${expected}${host.length ? ` (${host.map((w) => w.what).join(', ')})` : ''}`);
    }
  });

  it('sets CPU and memory requests and limits on every container', async () => {
    const objs = await objectsOf(dir);
    for (const w of workloads(objs)) {
      for (const c of w.template.spec!.containers) {
        const r = c.resources;
        for (const [kind, key] of [['requests', 'cpu'], ['requests', 'memory'], ['limits', 'cpu'], ['limits', 'memory']] as const) {
          assert.ok(r?.[kind]?.[key] !== undefined, `${w.what} container ${c.name}: resources.${kind}.${key} is set`);
        }
      }
    }
  });

  it('probes the gateway on /healthz (startup, liveness) and /readyz (readiness) on the admin port, which listens where the kubelet reaches it', async () => {
    const objs = await objectsOf(dir);
    const c = gatewayContainer(objs);
    const args = c.args ?? [];
    assert.equal(args[0], 'controller', 'the container runs `gatehouse controller`');
    assert.equal(Number(flag(args, '--admin-port')), ADMIN_PORT, '--admin-port');
    assert.deepEqual(httpProbe(c, c.livenessProbe, 'livenessProbe'), { path: '/healthz', port: ADMIN_PORT });
    assert.deepEqual(httpProbe(c, c.readinessProbe, 'readinessProbe'), { path: '/readyz', port: ADMIN_PORT });
    if (c.startupProbe) assert.deepEqual(httpProbe(c, c.startupProbe, 'startupProbe'), { path: '/healthz', port: ADMIN_PORT });
    const adminAddress = flag(args, '--admin-address');
    if (podSpec(gatewayWorkload(objs)).hostNetwork) {
      // On the host's network the pod IP is the node's, where no NetworkPolicy protects the port:
      // the admin API stays on 127.0.0.1, which the kubelet (in the same network namespace) probes.
      assert.equal(adminAddress, '127.0.0.1', '--admin-address is loopback on the host network');
      for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
        if (probe) assert.equal(probe.httpGet?.host, '127.0.0.1', 'probes go to 127.0.0.1');
      }
      return;
    }
    // The kubelet probes the pod IP, so the admin API must listen there too, not only on 127.0.0.1
    // (its default). 0.0.0.0 also keeps loopback for `kubectl port-forward`.
    assert.ok(adminAddress === '0.0.0.0' || adminAddress === '$(POD_IP)', `--admin-address ${adminAddress} is reachable by the kubelet`);
    if (adminAddress === '$(POD_IP)') {
      const podIp = c.env?.find((e) => e.name === 'POD_IP');
      assert.equal(podIp?.valueFrom?.fieldRef?.fieldPath, 'status.podIP', 'POD_IP comes from the downward API');
    }
    for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
      assert.ok(!probe?.httpGet?.host, 'probes go to the pod IP (no host set)');
    }
  });

  it('keeps the state in an emptyDir at --state-dir and gives /tmp an emptyDir (the root file system is read-only)', async () => {
    const objs = await objectsOf(dir);
    const c = gatewayContainer(objs);
    const volumes = new Map((podSpec(gatewayWorkload(objs)).volumes ?? []).map((v) => [v.name, v]));
    const stateDir = flag(c.args ?? [], '--state-dir');
    assert.ok(stateDir?.startsWith('/'), '--state-dir is an absolute path');
    for (const path of [stateDir, '/tmp']) {
      const mount = c.volumeMounts?.find((m) => m.mountPath === path);
      assert.ok(mount, `${path} is mounted`);
      assert.notEqual(mount.readOnly, true, `${path} is writable`);
      assert.ok(volumes.get(mount.name)?.emptyDir, `${path} is an emptyDir`);
    }
  });

  it('runs two replicas spread over nodes (a Deployment) or one per selected node (a DaemonSet), with a PodDisruptionBudget of minAvailable 1 on the same pods', async () => {
    const objs = await objectsOf(dir);
    const gw = gatewayWorkload(objs);
    const labels = gw.spec!.template.metadata?.labels;
    assert.ok(matches(gw.spec!.selector.matchLabels, labels), `the ${gw.kind} selects its own pods`);
    if (gw.kind === 'Deployment') {
      assert.equal((gw as IDeployment).spec?.replicas, 2);
      const anti = podSpec(gw).affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
      assert.ok(
        anti.some((t) => t.podAffinityTerm.topologyKey === 'kubernetes.io/hostname' && matches(t.podAffinityTerm.labelSelector?.matchLabels, labels)),
        'preferred anti-affinity on kubernetes.io/hostname against its own pods',
      );
    } else {
      assert.ok(Object.keys(podSpec(gw).nodeSelector ?? {}).length > 0, 'the DaemonSet runs on selected nodes only');
    }
    const pdb = one<IPodDisruptionBudget>(objs, 'PodDisruptionBudget', 'gatehouse');
    assert.equal(pdb.spec?.minAvailable, 1);
    assert.ok(matches(pdb.spec?.selector?.matchLabels, labels), 'the PDB selects the gateway pods');
  });

  it('exposes 80→8080 and 443→8443 through a LoadBalancer Service with appProtocol, and never the admin port', async () => {
    const objs = await objectsOf(dir);
    const c = gatewayContainer(objs);
    const svc = one<IService>(objs, 'Service', 'gatehouse');
    assert.equal(svc.spec?.type, 'LoadBalancer');
    assert.ok(matches(svc.spec?.selector, gatewayWorkload(objs).spec!.template.metadata?.labels), 'the Service selects the gateway pods');
    const ports = (svc.spec?.ports ?? []).map((p) => ({ port: p.port, target: containerPort(c, p.targetPort ?? p.port), appProtocol: p.appProtocol }));
    assert.deepEqual(ports, [
      { port: 80, target: 8080, appProtocol: 'http' },
      { port: 443, target: 8443, appProtocol: 'https' },
    ]);
    assert.equal(Number(flag(c.args ?? [], '--http-port') ?? 8080), 8080);
    assert.equal(Number(flag(c.args ?? [], '--https-port') ?? 8443), 8443);
    assert.equal(flag(c.args ?? [], '--publish-service'), '$(POD_NAMESPACE)/gatehouse', '--publish-service names this Service');
  });

  it('has the IngressClass the controller serves, not the default class', async () => {
    const objs = await objectsOf(dir);
    const ic = one<IIngressClass>(objs, 'IngressClass', 'gatehouse');
    assert.equal(ic.spec?.controller, 'gatehouse.io/ingress-controller');
    assert.equal(ic.metadata?.annotations?.['ingressclass.kubernetes.io/is-default-class'], 'false');
    assert.equal(flag(gatewayContainer(objs).args ?? [], '--ingress-class') ?? 'gatehouse', ic.metadata?.name);
  });

  it('admits traffic to 8080 and 8443 only: the NetworkPolicy keeps the admin port closed', async () => {
    const objs = await objectsOf(dir);
    const c = gatewayContainer(objs);
    const np = one<INetworkPolicy>(objs, 'NetworkPolicy', 'gatehouse');
    assert.ok(matches(np.spec?.podSelector.matchLabels, gatewayWorkload(objs).spec!.template.metadata?.labels), 'it selects the gateway pods');
    assert.ok(np.spec?.policyTypes?.includes('Ingress'), 'policyTypes has Ingress');
    const admitted: number[] = [];
    for (const rule of np.spec?.ingress ?? []) {
      assert.ok(rule.ports && rule.ports.length > 0, 'every rule names its ports (a rule without ports admits all of them)');
      for (const p of rule.ports) {
        assert.ok(p.port !== undefined, 'every port is named (a port-less entry admits all ports)');
        const port = containerPort(c, p.port);
        const end = p.endPort ?? port;
        assert.ok(!(port <= ADMIN_PORT && ADMIN_PORT <= end), `the admin port ${ADMIN_PORT} is not admitted (rule admits ${port}-${end})`);
        admitted.push(port);
      }
    }
    assert.deepEqual(admitted.sort(), [8080, 8443]);
    // No other NetworkPolicy opens it either.
    for (const other of all<INetworkPolicy>(objs, 'NetworkPolicy').filter((n) => n !== np)) {
      for (const rule of other.spec?.ingress ?? []) {
        for (const p of rule.ports ?? [{}]) {
          assert.ok(p.port !== undefined && containerPort(c, p.port) !== ADMIN_PORT, `NetworkPolicy ${other.metadata?.name} does not admit the admin port`);
        }
      }
    }
  });

  it('grants least privilege: reads only what the controller watches; writes only Ingress status, Events and its Lease; no wildcard', async () => {
    const objs = await objectsOf(dir);
    const roles = [...all<IClusterRole>(objs, 'ClusterRole'), ...all<IRole>(objs, 'Role')];
    const bindings = [...all<IClusterRoleBinding>(objs, 'ClusterRoleBinding'), ...all<IRoleBinding>(objs, 'RoleBinding')];
    const roleOf = (b: IClusterRoleBinding | IRoleBinding) =>
      roles.find((r) => r.kind === b.roleRef.kind && r.metadata?.name === b.roleRef.name && (r.kind === 'ClusterRole' || r.metadata?.namespace === b.metadata?.namespace));
    for (const role of roles) {
      const name = `${role.kind} ${role.metadata?.name}`;
      assert.equal((role as IClusterRole).aggregationRule, undefined, `${name}: no aggregation rule`);
      assert.ok(bindings.some((b) => roleOf(b) === role), `${name} is bound`);
      for (const rule of role.rules ?? []) {
        const fields = [...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...rule.verbs, ...(rule.resourceNames ?? []), ...(rule.nonResourceURLs ?? [])];
        assert.ok(!fields.some((f) => f.includes('*')), `${name}: no "*" in ${JSON.stringify(rule)}`);
        assert.equal(rule.nonResourceURLs, undefined, `${name}: no non-resource URLs`);
      }
    }
    // Bindings give one of these roles to one ServiceAccount each: the gateway's, or (the edge overlay)
    // the autonomy controller's, whose rules its own test checks exactly.
    const gatewayRoles = new Set<IClusterRole | IRole>();
    for (const b of bindings) {
      const target = roleOf(b);
      assert.ok(target, `${b.kind} ${b.metadata?.name}: its roleRef ${b.roleRef.kind} ${b.roleRef.name} is one of ours`);
      assert.equal(b.subjects?.length, 1, `${b.kind} ${b.metadata?.name}: one subject`);
      const subject = b.subjects[0]!;
      assert.equal(subject.kind, 'ServiceAccount', `${b.kind} ${b.metadata?.name}: bound to a ServiceAccount`);
      const account = `${subject.namespace}/${subject.name}`;
      if (account === `${NAMESPACE}/gatehouse`) gatewayRoles.add(target);
      else assert.equal(`${account} ${b.roleRef.kind} ${b.roleRef.name}`, 'gatehouse-autonomy/gatehouse-autonomy ClusterRole gatehouse-autonomy', `${b.kind} ${b.metadata?.name}: a binding the manifests explain`);
    }
    assert.ok(gatewayRoles.size >= 2);
    const readable = new Set<string>();
    for (const role of gatewayRoles) {
      const name = `${role.kind} ${role.metadata?.name}`;
      for (const rule of role.rules ?? []) {
        for (const group of rule.apiGroups ?? []) {
          for (const resource of rule.resources ?? []) {
            const gr = `${group}/${resource}`;
            for (const verb of rule.verbs) {
              if (READ_VERBS.has(verb)) {
                assert.ok(READS.has(gr), `${name}: reads ${gr}, which the controller does not watch`);
                readable.add(gr);
              } else {
                assert.ok(WRITES[gr]?.includes(verb), `${name}: "${verb}" on ${gr} is not one of the allowed writes`);
              }
            }
            if (gr === '/secrets') assert.ok(rule.verbs.every((v) => READ_VERBS.has(v)), `${name}: secrets only get/list/watch`);
          }
        }
      }
    }
    assert.deepEqual([...readable].sort(), [...READS].sort(), 'the controller can read everything it watches');

    const c = gatewayContainer(objs);
    const args = c.args ?? [];
    const role = one<IRole>(objs, 'Role', 'gatehouse');
    assert.equal(role.metadata?.namespace, NAMESPACE);
    // The ConfigMap and Lease named by the flags are the ones the Role names.
    const cmName = (flag(args, '--configmap') ?? 'gatehouse/gatehouse').split('/')[1];
    const leaseName = (flag(args, '--lease') ?? 'gatehouse/gatehouse-leader').split('/')[1];
    const cmRules = (role.rules ?? []).filter((r) => r.resources?.includes('configmaps'));
    assert.ok(cmRules.length > 0 && cmRules.every((r) => r.resourceNames?.length === 1 && r.resourceNames[0] === cmName), `configmaps only by name (${cmName})`);
    const leaseUpdate = (role.rules ?? []).filter((r) => r.resources?.includes('leases') && r.verbs.some((v) => v !== 'create'));
    assert.ok(leaseUpdate.length > 0 && leaseUpdate.every((r) => r.resourceNames?.length === 1 && r.resourceNames[0] === leaseName), `lease get/update only on ${leaseName}`);
    for (const cr of all<IClusterRole>(objs, 'ClusterRole')) {
      for (const r of cr.rules ?? []) {
        assert.ok(!r.resources?.some((x) => x === 'configmaps' || x === 'leases'), 'ConfigMap and Lease access is namespaced (Role), not cluster-wide');
      }
    }

    // The gateway's ServiceAccount, which gets these roles, is the one the gateway pods use.
    const sa = one<IServiceAccount>(objs, 'ServiceAccount', 'gatehouse');
    assert.equal(sa.metadata?.namespace, NAMESPACE);
    assert.equal(podSpec(gatewayWorkload(objs)).serviceAccountName, sa.metadata?.name);
    assert.notEqual(podSpec(gatewayWorkload(objs)).automountServiceAccountToken, false, 'the controller gets its token');
  });

  it('sets only ConfigMap keys Gatehouse knows', async () => {
    const objs = await objectsOf(dir);
    const cm = one<IConfigMap>(objs, 'ConfigMap', 'gatehouse');
    const known = new Set(SETTINGS.filter((s) => s.configMap).map((s) => s.name));
    for (const key of Object.keys(cm.data ?? {})) {
      assert.ok(known.has(key), `ConfigMap key ${key} is a Gatehouse setting`);
    }
  });

  it('passes only flags the gatehouse command accepts (checked against its --help)', async () => {
    const objs = await objectsOf(dir);
    for (const w of workloads(objs)) {
      for (const c of w.template.spec!.containers) {
        const args = c.args ?? [];
        const command = args[0];
        assert.ok(command && !command.startsWith('-'), `${w.what}: args start with a gatehouse command`);
        const flags = await commandFlags(command);
        for (const a of args.slice(1).filter((x) => x.startsWith('--'))) {
          assert.ok(flags.has(a.split('=')[0]!), `${w.what}: gatehouse ${command} has no flag ${a.split('=')[0]}`);
        }
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------

describe('deploy/base', () => {
  commonChecks('deploy/base');

  it('has no RuntimeClass, accelerator or device plugin', async () => {
    const objs = await objectsOf('deploy/base');
    assert.equal(all(objs, 'RuntimeClass').length, 0);
    assert.equal(all(objs, 'DaemonSet').length, 0);
    assert.equal(podSpec(gatewayDeployment(objs)).runtimeClassName, undefined);
    assert.equal(gatewayContainer(objs).resources?.limits?.[QAT_RESOURCE], undefined);
  });
});

describe('deploy/overlays/accelerated', () => {
  const dir = 'deploy/overlays/accelerated';
  commonChecks(dir);

  it('has a RuntimeClass with overhead.podFixed and scheduling (nodeSelector + tolerations), used by the Deployment', async () => {
    const objs = await objectsOf(dir);
    const rcs = all<IRuntimeClass>(objs, 'RuntimeClass');
    assert.equal(rcs.length, 1);
    const rc = rcs[0]!;
    assert.ok(rc.handler, 'handler is set');
    assert.ok(rc.overhead?.podFixed?.['cpu'] && rc.overhead.podFixed['memory'], 'overhead.podFixed has cpu and memory');
    assert.ok(Object.keys(rc.scheduling?.nodeSelector ?? {}).length > 0, 'scheduling.nodeSelector is set');
    assert.ok((rc.scheduling?.tolerations ?? []).length > 0, 'scheduling.tolerations is set');
    assert.equal(podSpec(gatewayDeployment(objs)).runtimeClassName, rc.metadata?.name, 'the Deployment runs in this RuntimeClass');
  });

  it('asks for one QAT device per gateway pod and keeps the base resources', async () => {
    const objs = await objectsOf(dir);
    const r = gatewayContainer(objs).resources;
    assert.ok(Number(r?.limits?.[QAT_RESOURCE]) >= 1, `limits.${QAT_RESOURCE} ≥ 1`);
    const base = gatewayContainer(await objectsOf('deploy/base')).resources;
    for (const key of ['cpu', 'memory']) {
      assert.equal(r?.limits?.[key], base?.limits?.[key], `limits.${key} from the base is kept`);
      assert.equal(r?.requests?.[key], base?.requests?.[key], `requests.${key} from the base is kept`);
    }
  });

  it('enables the crypto provider in the ConfigMap and keeps the base keys', async () => {
    const objs = await objectsOf(dir);
    const data = one<IConfigMap>(objs, 'ConfigMap', 'gatehouse').data ?? {};
    assert.equal(data['ssl-provider'], 'qatprovider');
    assert.equal(data['ssl-mode-async'], 'true');
    assert.equal(data['crypto-offload'], 'auto');
    const base = one<IConfigMap>(await objectsOf('deploy/base'), 'ConfigMap', 'gatehouse').data ?? {};
    for (const [k, v] of Object.entries(base)) assert.equal(data[k], v, `base key ${k} is kept`);
  });

  it('runs the device plugin on the RuntimeClass nodes, with the kubelet socket directory, /dev/vfio and a read-only /sys', async () => {
    const objs = await objectsOf(dir);
    const ds = one<IDaemonSet>(objs, 'DaemonSet');
    const rc = one<IRuntimeClass>(objs, 'RuntimeClass');
    const pod = podSpec(ds);
    assert.deepEqual(pod.nodeSelector, rc.scheduling?.nodeSelector, 'the same nodes as the RuntimeClass');
    for (const t of rc.scheduling?.tolerations ?? []) {
      assert.ok(pod.tolerations?.some((x) => x.key === t.key && x.value === t.value && x.effect === t.effect), `tolerates ${t.key}=${t.value}:${t.effect}`);
    }
    const c = pod.containers[0]!;
    assert.equal(c.args?.[0], 'device-plugin');
    const hostPaths = new Map((pod.volumes ?? []).filter((v) => v.hostPath).map((v) => [v.name, v.hostPath!.path]));
    const mounts = new Map((c.volumeMounts ?? []).map((m) => [m.mountPath, m]));
    for (const [path, readOnly] of [['/var/lib/kubelet/device-plugins', false], ['/dev/vfio', true], ['/sys', true]] as const) {
      const m = mounts.get(path);
      assert.ok(m, `${path} is mounted`);
      assert.equal(hostPaths.get(m.name), path, `${path} is the host's ${path}`);
      if (readOnly) assert.equal(m.readOnly, true, `${path} is read-only`);
    }
    assert.equal(pod.automountServiceAccountToken, false, 'the device plugin has no API token');
    assert.notEqual(ds.metadata?.namespace, NAMESPACE, 'the device plugin is not in the gateway namespace');
    const ns = one<K8sObject>(objs, 'Namespace', ds.metadata?.namespace);
    assert.equal(ns.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'privileged', 'its namespace admits host paths');
  });

  it('runs gatehouse device-plugin with arguments its own parser accepts: the mounted paths, no --bind (read-only /sys), the resource the gateway asks for', async () => {
    const objs = await objectsOf(dir);
    const c = podSpec(one<IDaemonSet>(objs, 'DaemonSet')).containers[0]!;
    const [command, ...argv] = c.args ?? [];
    assert.equal(command, 'device-plugin');
    // The command's own flag parsing and checks: a UsageError (naming the flag) on an unknown flag or a bad value.
    const settings = devicePluginSettings(argv);
    assert.ok(settings !== 'help');
    assert.equal(settings.bind, false, '--bind needs a writable /sys, which the DaemonSet does not mount');
    const mounts = new Map((c.volumeMounts ?? []).map((m) => [m.mountPath, m]));
    const kubeletDir = mounts.get(settings.kubeletDir);
    assert.ok(kubeletDir, `--kubelet-dir ${settings.kubeletDir} is a mount`);
    assert.notEqual(kubeletDir.readOnly, true, 'the kubelet directory is writable (the plugin creates its sockets there)');
    assert.ok(mounts.get(settings.sysfsRoot), `--sysfs-root ${settings.sysfsRoot} is a mount`);
    assert.ok(mounts.get(posix.join(settings.devRoot, 'vfio')), `${settings.devRoot}/vfio is a mount`);
    assert.equal(settings.naming, 'generic');
    assert.equal(resourceName(settings.naming, { gen4: true, cfgServices: 'sym;asym' }), QAT_RESOURCE, 'it advertises what the gateway asks for');
  });
});

describe('deploy/overlays/edge', () => {
  const dir = 'deploy/overlays/edge';
  commonChecks(dir);

  const edgeHub = (objs: K8sObject[]): IDaemonSet => one<IDaemonSet>(objs, 'DaemonSet', 'gatehouse-edge-hub');
  const edgeHubContainer = (objs: K8sObject[]): IContainer => {
    const c = podSpec(edgeHub(objs)).containers;
    assert.equal(c.length, 1, 'the edge-hub pod has one container');
    return c[0]!;
  };
  const autonomy = (objs: K8sObject[]): IDeployment => one<IDeployment>(objs, 'Deployment', 'gatehouse-autonomy');
  /** Kept running on a node cut off from the control plane: both NoExecute taints, for ever. */
  const assertStaysOnUnreachableNodes = (pod: IPodSpec, what: string): void => {
    for (const key of ['node.kubernetes.io/unreachable', 'node.kubernetes.io/not-ready']) {
      const t = pod.tolerations?.find((x) => x.key === key && x.effect === 'NoExecute');
      assert.ok(t, `${what} tolerates ${key}:NoExecute`);
      assert.equal(t.operator, 'Exists', `${what}: ${key} with operator Exists`);
      assert.equal(t.tolerationSeconds, undefined, `${what}: ${key} tolerated for ever (no tolerationSeconds)`);
    }
  };
  /** The ports a host-network pod binds on its node, from its container ports. */
  const hostPorts = (pod: IPodSpec): number[] => pod.containers.flatMap((c) => (c.ports ?? []).map((p) => p.containerPort));

  it('runs the edge-hub on the edge nodes only, on the host network, in a namespace of its own, and keeps it there while the node is unreachable or not ready', async () => {
    const objs = await objectsOf(dir);
    const ds = edgeHub(objs);
    const pod = podSpec(ds);
    assert.deepEqual(pod.nodeSelector, { [EDGE_LABEL]: 'true' }, `nodeSelector ${EDGE_LABEL}: "true"`);
    assert.equal(pod.hostNetwork, true, 'hostNetwork: its clients reach it on the node\'s 127.0.0.1');
    assertStaysOnUnreachableNodes(pod, 'the edge-hub');
    assert.equal(pod.priorityClassName, 'system-node-critical', 'node components may depend on it');
    assert.notEqual(ds.metadata?.namespace, NAMESPACE, 'not in the gateway namespace');
    assert.equal(ds.spec?.updateStrategy?.rollingUpdate?.maxSurge ?? 0, 0, 'no surge: two pods on one node would bind the same ports');
    assert.equal(edgeHubContainer(objs).args?.[0], 'edge-hub', 'the container runs `gatehouse edge-hub`');
  });

  it('listens on loopback only: every --listen, and the admin API, which the probes reach on 127.0.0.1', async () => {
    const objs = await objectsOf(dir);
    const c = edgeHubContainer(objs);
    const args = c.args ?? [];
    const listen = flagValues(args, '--listen');
    assert.deepEqual(listen, [EDGE_HUB_HTTP_URL, EDGE_HUB_URL], '--listen: the HTTP and HTTPS defaults');
    for (const l of listen) {
      const u = new URL(l);
      assert.ok(isLoopback(u.hostname), `--listen ${l} is a loopback address`);
      assert.ok(c.ports?.some((p) => p.containerPort === Number(u.port)), `--listen ${l}: its port is a container port (the scheduler keeps other pods off it)`);
    }
    assert.equal(flag(args, '--admin-address'), '127.0.0.1', '--admin-address');
    const adminPort = Number(flag(args, '--admin-port'));
    assert.equal(adminPort, 10267, '--admin-port');
    assert.deepEqual(httpProbe(c, c.livenessProbe, 'livenessProbe'), { path: '/healthz', port: adminPort });
    assert.deepEqual(httpProbe(c, c.readinessProbe, 'readinessProbe'), { path: '/readyz', port: adminPort });
    assert.deepEqual(httpProbe(c, c.startupProbe, 'startupProbe'), { path: '/healthz', port: adminPort });
    for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) assert.equal(probe?.httpGet?.host, '127.0.0.1', 'probes go to 127.0.0.1');
    for (const p of c.ports ?? []) assert.equal(p.hostIP, undefined, `port ${p.name}: no hostIP (the listeners choose the address)`);
  });

  it('keeps its cache on the host in --cache-dir, a directory an init container gives to the edge-hub\'s own uid, mode 0755 (the edge-hub makes cache/ 0700 in it)', async () => {
    const objs = await objectsOf(dir);
    const pod = podSpec(edgeHub(objs));
    const c = edgeHubContainer(objs);
    const cacheDir = flag(c.args ?? [], '--cache-dir');
    assert.equal(cacheDir, EDGE_HUB_DIR, '--cache-dir');
    const mount = c.volumeMounts?.find((m) => m.mountPath === cacheDir);
    assert.ok(mount, `${cacheDir} is mounted`);
    assert.notEqual(mount.readOnly, true, 'the cache is writable');
    const volume = pod.volumes?.find((v) => v.name === mount.name);
    assert.deepEqual(volume?.hostPath, { path: cacheDir, type: 'DirectoryOrCreate' }, 'a host path (survives pod restarts and node reboots), created by the kubelet when missing');
    assert.ok(c.volumeMounts?.some((m) => m.mountPath === '/tmp' && pod.volumes?.find((v) => v.name === m.name)?.emptyDir), '/tmp is an emptyDir');

    // The init container: chown to the edge-hub's uid:gid, then 0755 (cache/ inside is the edge-hub's
    // own, 0700; tls/ must be reachable by the node's clients), on the same volume.
    const uid = c.securityContext?.runAsUser;
    const gid = c.securityContext?.runAsGroup;
    assert.ok(uid !== undefined && uid !== 0 && gid !== undefined, 'the edge-hub runs as a fixed non-root uid and gid');
    const inits = pod.initContainers ?? [];
    assert.equal(inits.length, 1, 'one init container');
    const init = inits[0]!;
    const env = new Map((init.env ?? []).map((e) => [e.name, e.value]));
    const initMount = init.volumeMounts?.find((m) => m.name === mount.name);
    assert.equal(initMount?.mountPath, env.get('CACHE_DIR'), 'the init container works on the cache volume, at CACHE_DIR');
    assert.equal(env.get('CACHE_OWNER'), `${uid}:${gid}`, 'CACHE_OWNER is the edge-hub\'s runAsUser:runAsGroup');
    assert.deepEqual(init.command, ['/bin/sh', '-ec', 'chown "$CACHE_OWNER" "$CACHE_DIR"; chmod 0755 "$CACHE_DIR"'], 'it gives the directory (not its contents) to the edge-hub, mode 0755');
    assert.equal(init.image, c.image, 'the same image');
    // Only the gateway mounts it too, read-only, as a uid and gid that cannot enter cache/ (0700).
    for (const other of workloads(objs).filter((w) => w.what !== `DaemonSet ${edgeHub(objs).metadata?.namespace}/gatehouse-edge-hub`)) {
      const otherPod: IPodSpec = other.template.spec!;
      const volumes: NonNullable<IPodSpec['volumes']> = (otherPod.volumes ?? []).filter((v) => v.hostPath?.path === cacheDir);
      if (other.what !== `DaemonSet ${NAMESPACE}/gatehouse`) {
        assert.equal(volumes.length, 0, `${other.what} does not mount the edge-hub's directory`);
        continue;
      }
      for (const oc of [...(otherPod.initContainers ?? []), ...otherPod.containers]) {
        for (const m of (oc.volumeMounts ?? []).filter((x) => volumes.some((v) => v.name === x.name))) {
          assert.equal(m.readOnly, true, `${other.what} container ${oc.name}: the edge-hub's directory read-only`);
        }
        const ouid = oc.securityContext?.runAsUser ?? otherPod.securityContext?.runAsUser;
        const ogid = oc.securityContext?.runAsGroup ?? otherPod.securityContext?.runAsGroup;
        const groups = [ogid, otherPod.securityContext?.fsGroup, ...(otherPod.securityContext?.supplementalGroups ?? [])];
        assert.notEqual(ouid, uid, `${other.what} container ${oc.name}: not the edge-hub's uid (it would read cache/)`);
        assert.ok(!groups.includes(gid), `${other.what} container ${oc.name}: not in the edge-hub's group`);
      }
    }
  });

  it('gives the edge-hub no RBAC: no binding names its service account', async () => {
    const objs = await objectsOf(dir);
    const ds = edgeHub(objs);
    const account = podSpec(ds).serviceAccountName;
    assert.ok(account && account !== 'default', 'a service account of its own');
    const sa = one<IServiceAccount>(objs, 'ServiceAccount', account);
    assert.equal(sa.metadata?.namespace, ds.metadata?.namespace);
    for (const b of [...all<IClusterRoleBinding>(objs, 'ClusterRoleBinding'), ...all<IRoleBinding>(objs, 'RoleBinding')]) {
      for (const s of b.subjects ?? []) {
        const names = s.kind === 'ServiceAccount' && s.name === account && s.namespace === ds.metadata?.namespace;
        const groups = s.kind === 'Group' && (s.name === 'system:serviceaccounts' || s.name === `system:serviceaccounts:${ds.metadata?.namespace}`);
        assert.ok(!names && !groups, `${b.kind} ${b.metadata?.name} does not bind the edge-hub's service account`);
      }
    }
  });

  it('replaces the gateway Deployment with a DaemonSet on the same edge nodes, on the host network, reading the cluster through its node\'s edge-hub over https, trusting the edge-hub\'s own certificate', async () => {
    const objs = await objectsOf(dir);
    assert.equal(objs.filter((o) => o.kind === 'Deployment' && o.metadata.namespace === NAMESPACE).length, 0, 'no gateway Deployment');
    const gw = gatewayWorkload(objs);
    assert.equal(gw.kind, 'DaemonSet');
    const pod = podSpec(gw);
    assert.equal(pod.hostNetwork, true, 'hostNetwork: the edge-hub is on the node\'s 127.0.0.1');
    assert.deepEqual(pod.nodeSelector, podSpec(edgeHub(objs)).nodeSelector, 'the same nodes as the edge-hub');
    assertStaysOnUnreachableNodes(pod, 'the gateway');
    const c = gatewayContainer(objs);
    const args = c.args ?? [];
    assert.equal(flag(args, '--server'), EDGE_HUB_URL, `--server ${EDGE_HUB_URL} (https: @kubernetes/client-node sends no bearer token over http)`);
    assert.ok(flagValues(edgeHubContainer(objs).args ?? [], '--listen').includes(EDGE_HUB_URL), '--server is one of the edge-hub\'s listeners');
    // It trusts the certificate the edge-hub makes in <cache-dir>/tls, mounted read-only from the node.
    assert.equal(flag(args, '--certificate-authority'), EDGE_HUB_CA, `--certificate-authority ${EDGE_HUB_CA}`);
    assert.equal(flag(edgeHubContainer(objs).args ?? [], '--tls-cert-file'), undefined, 'the edge-hub makes its own certificate, in <cache-dir>/tls');
    const mount = c.volumeMounts?.find((m) => EDGE_HUB_CA.startsWith(`${m.mountPath}/`));
    assert.ok(mount, `--certificate-authority ${EDGE_HUB_CA} is on a mount`);
    assert.equal(mount.mountPath, EDGE_HUB_MOUNT, `${EDGE_HUB_MOUNT} is mounted`);
    assert.equal(mount.readOnly, true, `${EDGE_HUB_MOUNT} is read-only`);
    const volume = pod.volumes?.find((v) => v.name === mount.name);
    assert.deepEqual(volume?.hostPath, { path: flag(edgeHubContainer(objs).args ?? [], '--cache-dir'), type: 'Directory' }, 'the edge-hub\'s --cache-dir on the node, which the edge-hub pod creates (type Directory: not created here)');
    assert.equal(flag(args, '--admin-address'), '127.0.0.1');
    assert.equal((gw as IDaemonSet).spec?.updateStrategy?.rollingUpdate?.maxSurge ?? 0, 0, 'no surge: two pods on one node would bind the same ports');
  });

  it('makes the gateway DaemonSet from the base Deployment\'s pod template, changed only for the edge', async () => {
    const objs = await objectsOf(dir);
    const base = gatewayDeployment(await objectsOf('deploy/base'));
    const ds = gatewayWorkload(objs);
    assert.deepEqual(ds.spec?.selector, base.spec?.selector, 'the base selector');
    const expected = structuredClone(base.spec!.template);
    const pod = expected.spec!;
    pod.hostNetwork = true;
    pod.dnsPolicy = 'Default';
    pod.nodeSelector = { [EDGE_LABEL]: 'true' };
    pod.tolerations = [
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
    ];
    delete pod.affinity;
    const c = pod.containers[0]!;
    c.args = [...c.args!.map((a) => (a === '--admin-address=0.0.0.0' ? '--admin-address=127.0.0.1' : a)), `--server=${EDGE_HUB_URL}`, `--certificate-authority=${EDGE_HUB_CA}`];
    for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe]) probe!.httpGet!.host = '127.0.0.1';
    pod.securityContext = { ...pod.securityContext, runAsUser: EDGE_GATEWAY_UID, runAsGroup: EDGE_GATEWAY_UID, fsGroup: EDGE_GATEWAY_UID };
    c.securityContext = { ...c.securityContext, runAsUser: EDGE_GATEWAY_UID, runAsGroup: EDGE_GATEWAY_UID };
    pod.volumes = [{ name: 'edge-hub', hostPath: { path: EDGE_HUB_DIR, type: 'Directory' } }, ...(pod.volumes ?? [])];
    c.volumeMounts = [{ name: 'edge-hub', mountPath: EDGE_HUB_MOUNT, readOnly: true }, ...(c.volumeMounts ?? [])];
    assert.deepEqual(ds.spec?.template, expected);
  });

  it('binds each port of an edge node once, and none the node\'s own components use', async () => {
    const objs = await objectsOf(dir);
    const onEdge = workloads(objs).filter((w) => w.template.spec!.hostNetwork && w.template.spec!.nodeSelector?.[EDGE_LABEL] === 'true');
    assert.deepEqual(onEdge.map((w) => w.what).sort(), ['DaemonSet gatehouse-edge-hub/gatehouse-edge-hub', 'DaemonSet gatehouse/gatehouse']);
    const ports = onEdge.flatMap((w) => hostPorts(w.template.spec!));
    assert.deepEqual(ports.slice().sort((a, b) => a - b), [8080, 8443, 9180, 10261, 10267, 10268]);
    // kube-apiserver, etcd, kubelet (10250, healthz 10248, read-only 10255), kube-proxy (metrics
    // 10249, healthz 10256), kube-controller-manager, kube-scheduler.
    for (const p of [6443, 2379, 2380, 10248, 10249, 10250, 10255, 10256, 10257, 10259]) assert.ok(!ports.includes(p), `port ${p} is left to the node's components`);
    // The gateway's flags bind what its container ports say.
    const args = gatewayContainer(objs).args ?? [];
    for (const f of ['--http-port', '--https-port', '--admin-port']) assert.ok(ports.includes(Number(flag(args, f))), `gateway ${f} is a container port`);
  });

  it('runs the autonomy controller once (Recreate: never two at once), off the edge nodes, its admin API on 127.0.0.1:10266 probed from inside the pod', async () => {
    const objs = await objectsOf(dir);
    const d = autonomy(objs);
    assert.equal(d.spec?.replicas, 1);
    assert.equal(d.spec?.strategy?.type, 'Recreate');
    assert.notEqual(d.metadata?.namespace, NAMESPACE, 'not in the gateway namespace');
    const pod = podSpec(d);
    assert.notEqual(pod.hostNetwork, true);
    const terms = pod.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    assert.ok(terms.length > 0, 'required node affinity');
    for (const term of terms) {
      assert.ok(term.matchExpressions?.some((e) => e.key === EDGE_LABEL && e.operator === 'NotIn' && e.values?.includes('true')), `every node selector term keeps it off ${EDGE_LABEL}=true`);
    }
    assert.equal(pod.containers.length, 1);
    const c = pod.containers[0]!;
    const args = c.args ?? [];
    assert.equal(args[0], 'autonomy', 'the container runs `gatehouse autonomy`');
    assert.equal(flag(args, '--admin-address'), '127.0.0.1');
    assert.equal(flag(args, '--admin-port'), '10266');
    assert.equal(flag(args, '--server'), undefined, 'in the pod, the in-cluster API server');
    const probed = (probe: IProbe | undefined, what: string): string => {
      const cmd = probe?.exec?.command;
      assert.ok(cmd, `${what} is an exec probe (an HTTP probe would go to the pod IP)`);
      assert.equal(cmd[0], 'node');
      const url = /'(http:\/\/[^']+)'/.exec(cmd.join(' '))?.[1];
      assert.ok(url, `${what} names a URL`);
      return url;
    };
    assert.equal(probed(c.startupProbe, 'startupProbe'), 'http://127.0.0.1:10266/healthz');
    assert.equal(probed(c.livenessProbe, 'livenessProbe'), 'http://127.0.0.1:10266/healthz');
    assert.equal(probed(c.readinessProbe, 'readinessProbe'), 'http://127.0.0.1:10266/readyz');
  });

  it('grants the autonomy controller exactly nodes get/list/watch and pods get/list/watch/patch, through one ClusterRoleBinding to its own service account', async () => {
    const objs = await objectsOf(dir);
    const d = autonomy(objs);
    const account = podSpec(d).serviceAccountName;
    assert.equal(account, 'gatehouse-autonomy');
    assert.equal(one<IServiceAccount>(objs, 'ServiceAccount', account).metadata?.namespace, d.metadata?.namespace);
    const subject = { kind: 'ServiceAccount', name: account, namespace: d.metadata?.namespace };
    const bindings = [...all<IClusterRoleBinding>(objs, 'ClusterRoleBinding'), ...all<IRoleBinding>(objs, 'RoleBinding')].filter((b) =>
      b.subjects?.some((s) => s.kind === subject.kind && s.name === subject.name && s.namespace === subject.namespace),
    );
    assert.deepEqual(bindings.map((b) => `${b.kind} ${b.metadata?.name}`), ['ClusterRoleBinding gatehouse-autonomy']);
    assert.deepEqual(bindings[0]!.subjects, [subject], 'bound to its service account only');
    assert.deepEqual(bindings[0]!.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'gatehouse-autonomy' });
    const role = one<IClusterRole>(objs, 'ClusterRole', 'gatehouse-autonomy');
    const granted = (role.rules ?? []).flatMap((r) =>
      (r.apiGroups ?? []).flatMap((g) => (r.resources ?? []).flatMap((res) => r.verbs.map((v) => `${g}/${res} ${v}`))),
    );
    assert.deepEqual(granted.sort(), ['/nodes get', '/nodes list', '/nodes watch', '/pods get', '/pods list', '/pods patch', '/pods watch']);
    for (const r of role.rules ?? []) assert.equal(r.resourceNames, undefined, 'no resourceNames (a watch of all nodes and pods cannot have them)');
  });

  it('keeps the autonomy namespace "restricted" and closed to traffic in', async () => {
    const objs = await objectsOf(dir);
    const ns = autonomy(objs).metadata!.namespace!;
    assert.equal(one<K8sObject>(objs, 'Namespace', ns).metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
    const policies = all<INetworkPolicy>(objs, 'NetworkPolicy').filter((n) => n.metadata?.namespace === ns);
    assert.equal(policies.length, 1);
    const np = policies[0]!;
    assert.deepEqual(np.spec?.podSelector, {}, 'every pod of the namespace');
    assert.deepEqual(np.spec?.policyTypes, ['Ingress']);
    assert.deepEqual(np.spec?.ingress ?? [], [], 'no rule admits anything');
  });

  it('keeps the gateway\'s RBAC, ConfigMap and Service from the base', async () => {
    const objs = await objectsOf(dir);
    const base = await objectsOf('deploy/base');
    for (const [kind, name] of [['ClusterRole', 'gatehouse'], ['ClusterRoleBinding', 'gatehouse'], ['Role', 'gatehouse'], ['RoleBinding', 'gatehouse'], ['ServiceAccount', 'gatehouse'], ['ConfigMap', 'gatehouse'], ['Service', 'gatehouse'], ['PodDisruptionBudget', 'gatehouse'], ['NetworkPolicy', 'gatehouse']] as const) {
      assert.deepEqual(one(objs, kind, name), one(base, kind, name), `${kind} ${name} is the base's`);
    }
  });
});

describe('schema check', () => {
  it('refuses a misspelt field, a wrong type and an unknown kind', () => {
    const deployment = (securityContext: Record<string, unknown>, replicas: unknown = 1) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x', labels: { a: 'b' } },
      spec: {
        replicas,
        selector: { matchLabels: { a: 'b' } },
        template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i', securityContext, resources: { limits: { cpu: '1' } } }] } },
      },
    });
    assert.deepEqual(schemaProblems(deployment({ readOnlyRootFilesystem: true })), []);
    assert.deepEqual(schemaProblems(deployment({ readOnlyRootFileSystem: true })), [
      'spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem: unknown field (not in the apps/v1/Deployment schema)',
    ]);
    assert.match(schemaProblems(deployment({}, 'two')).join('\n'), /replicas must be integer/);
    assert.match(schemaProblems({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }).join('\n'), /no schema known for example\.com\/v1\/Widget/);
  });
});

describe('Dockerfile (static check: the image is not built by the tests)', () => {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  // Joined continuation lines, comments dropped.
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: { from: string; lines: string[] }[] = [];
  for (const l of lines) {
    const m = /^FROM\s+(\S+)/i.exec(l);
    if (m) stages.push({ from: m[1]!, lines: [] });
    else stages.at(-1)?.lines.push(l);
  }
  const final = stages.at(-1);

  it('is multi-stage: built in a Node 20 stage, copied into a slim Node 20 runtime', () => {
    assert.ok(stages.length >= 2, 'at least two FROM stages');
    assert.match(stages[0]!.from, /^node:20-bookworm\b/);
    assert.match(final!.from, /^node:20-bookworm-slim\b/);
    assert.ok(stages[0]!.lines.some((l) => /npm ci\b/.test(l)) && stages[0]!.lines.some((l) => /npm run build\b/.test(l)), 'the build stage runs npm ci and npm run build');
    assert.ok(final!.lines.some((l) => /^COPY\s+--from=/i.test(l)), 'the runtime copies from the build stage');
    assert.ok(!final!.lines.some((l) => /npm (ci|install)\b(?!.*--omit=dev)/.test(l)), 'no dev dependencies installed in the runtime');
  });

  it('installs HAProxy (and openssl, for the default certificate) from Debian in the runtime stage', () => {
    const install = final!.lines.find((l) => /apt-get install/.test(l));
    assert.ok(install, 'apt-get install in the runtime stage');
    assert.match(install, /\bhaproxy\b/);
    assert.match(install, /\bopenssl\b/);
    assert.match(install, /--no-install-recommends/);
  });

  it('runs as the non-root uid 10001, the same the Deployment asks for', () => {
    const users = final!.lines.filter((l) => /^USER\s/i.test(l));
    assert.ok(users.length > 0, 'USER is set');
    const user = /^USER\s+(\S+)/i.exec(users.at(-1)!)![1]!;
    assert.match(user, /^10001(:10001)?$/, 'numeric uid, so runAsNonRoot can be verified');
  });

  it('starts the package bin, dist/src/cli/main.js, with `controller` by default', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    const entry = final!.lines.find((l) => /^ENTRYPOINT\s/i.test(l));
    assert.ok(entry, 'ENTRYPOINT is set');
    const argv = JSON.parse(entry.replace(/^ENTRYPOINT\s+/i, '')) as string[];
    assert.ok(argv.includes('node') && argv.includes(`/app/${pkg.bin['gatehouse']}`), `ENTRYPOINT runs node /app/${pkg.bin['gatehouse']}`);
    const cmd = final!.lines.find((l) => /^CMD\s/i.test(l));
    assert.equal((JSON.parse(cmd!.replace(/^CMD\s+/i, '')) as string[])[0], 'controller');
  });

  it('.dockerignore keeps node_modules, dist and .git out of the build context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split(/\r?\n/).map((l) => l.trim());
    for (const p of ['node_modules', 'dist', '.git']) assert.ok(ignored.includes(p), `${p} is ignored`);
  });
});
