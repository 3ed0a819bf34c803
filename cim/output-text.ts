/** What output fingerprints are made of; no imports, so the workflow sandbox can take it alone. */

/**
 * The text of an agent's or tool's output: a string as is; for structured results the
 * string values in document order (keys are field names, not output), one per paragraph.
 */
export function outputText(value: unknown, maxChars = 2_000_000): string {
  const parts: string[] = [];
  let size = 0;
  const walk = (v: unknown, depth: number): void => {
    if (size >= maxChars || depth > 32) return;
    // As JSON would carry it (a Date as its ISO text): the same text whether read from the
    // value a tool returned or from Temporal history, where verify reads it back.
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      try {
        v = (v as { toJSON: () => unknown }).toJSON();
      } catch {
        return;
      }
    }
    if (typeof v === 'string') {
      if (v.trim()) {
        parts.push(v);
        size += v.length;
      }
    } else if (Array.isArray(v)) {
      for (const item of v) walk(item, depth + 1);
    } else if (v !== null && typeof v === 'object') {
      for (const item of Object.values(v)) walk(item, depth + 1);
    }
  };
  walk(value, 0);
  return parts.join('\n\n').slice(0, maxChars);
}
