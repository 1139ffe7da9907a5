/** Resolves on the first SIGTERM or SIGINT, after logging it. Call it before starting, so a signal during start waits its turn. */
export function untilSignal(log: (level: 'info', msg: string) => void): Promise<void> {
  return new Promise<void>((done) => {
    const stop = (signal: string) => {
      log('info', `${signal} received: stopping`);
      done();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
