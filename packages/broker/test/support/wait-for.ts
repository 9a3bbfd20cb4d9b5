// Polling until a condition holds, for tests that watch real processes or clients (kafkajs admin calls, group events).

/**
 * Polls `check` every `pollMs` until it returns a value (not undefined); a throwing check counts as "not yet" and its
 * last error is named if the wait times out after `timeoutMs`.
 */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined> | T | undefined, pollMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
