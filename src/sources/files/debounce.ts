/** Calls `fn` once per burst of triggers. */
export interface Debouncer {
  /** `quietMs`: how long this trigger waits for the next one (default: the debouncer's `waitMs`). */
  trigger(quietMs?: number): void;
  /** Drops a pending call. */
  cancel(): void;
}

/**
 * `fn` runs once the quiet time of the last trigger of a burst has passed with no further trigger
 * (`waitMs`, or what that trigger asked for), and at most `maxWaitMs` after the first trigger, so a
 * steady stream of triggers (a file written in many small pieces) still gets through.
 */
export function debounce(fn: () => void, waitMs: number, maxWaitMs: number): Debouncer {
  let quiet: NodeJS.Timeout | undefined;
  let deadline: NodeJS.Timeout | undefined;
  const cancel = (): void => {
    if (quiet !== undefined) clearTimeout(quiet);
    if (deadline !== undefined) clearTimeout(deadline);
    quiet = undefined;
    deadline = undefined;
  };
  const fire = (): void => {
    cancel();
    fn();
  };
  return {
    trigger(quietMs = waitMs) {
      if (quiet !== undefined) clearTimeout(quiet);
      quiet = setTimeout(fire, quietMs);
      deadline ??= setTimeout(fire, Math.max(waitMs, maxWaitMs));
    },
    cancel,
  };
}
