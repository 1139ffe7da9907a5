import type { Bench } from './lib/result.js';

export const updatesBench: Bench = {
  name: 'updates',
  title: 'TODO updates',
  async run() {
    throw new Error('updates: not written yet');
  },
};
