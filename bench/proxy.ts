import type { Bench } from './lib/result.js';

export const proxyBench: Bench = {
  name: 'proxy',
  title: 'TODO proxy',
  async run() {
    throw new Error('proxy: not written yet');
  },
};
