/** Polls `read` until it answers something other than undefined, or fails naming `what` after `withinMs`. */
export async function until<T>(what: string, read: () => Promise<T | undefined>, withinMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const found = await read();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
