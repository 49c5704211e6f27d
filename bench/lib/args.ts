/** Command-line helpers shared by the benchmarks. */

/** `KEY=VALUE` arguments (a repeatable option such as `--env`) as an environment object. */
export function keyValues(pairs: readonly string[], option: string): Record<string, string> {
  return Object.fromEntries(
    pairs.map((kv) => {
      const at = kv.indexOf("=");
      if (at < 1) throw new Error(`${option} takes KEY=VALUE (got "${kv}")`);
      return [kv.slice(0, at), kv.slice(at + 1)];
    }),
  );
}
