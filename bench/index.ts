import { edgehubBench } from './edgehub.js';
import type { Bench } from './lib/result.js';
import { proxyBench } from './proxy.js';
import { scaleBench } from './scale.js';
import { tlsBench } from './tls.js';
import { updatesBench } from './updates.js';

/** Every benchmark, in the order `npm run bench` runs them and docs/benchmarks.md shows them. */
export const BENCHES: Bench[] = [tlsBench, proxyBench, updatesBench, scaleBench, edgehubBench];
