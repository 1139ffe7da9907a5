/** Calls `fn` once per burst of triggers. */
export interface Debouncer {
  trigger(): void;
  /** Drops a pending call. */
  cancel(): void;
}

/**
 * `fn` runs `waitMs` after the last trigger of a burst, and at most `maxWaitMs` after its first
 * trigger, so a steady stream of triggers (a file written in many small pieces) still gets through.
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
    trigger() {
      if (quiet !== undefined) clearTimeout(quiet);
      quiet = setTimeout(fire, waitMs);
      deadline ??= setTimeout(fire, Math.max(waitMs, maxWaitMs));
    },
    cancel,
  };
}
