import type { Bench } from './lib/result.js';

export const scaleBench: Bench = {
  name: 'scale',
  title: 'TODO scale',
  async run() {
    throw new Error('scale: not written yet');
  },
};
