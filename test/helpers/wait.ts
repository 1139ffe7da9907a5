/**
 * Resolves once `predicate` returns true; rejects when `timeoutMs` passes first (naming `what`),
 * or at once with the predicate's own error when it throws. Checks right away, then every 10 ms:
 * a bounded wait for a condition, not a sleep standing in for one.
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, Math.min(10, Math.max(0, deadline - Date.now()))));
  }
}
