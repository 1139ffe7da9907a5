import type { Bench } from './lib/result.js';

export const tlsBench: Bench = {
  name: 'tls',
  title: 'TODO tls',
  async run() {
    throw new Error('tls: not written yet');
  },
};
