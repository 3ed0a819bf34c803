/** Makes sure a Temporal CLI is available (building it if needed) and says how long that took. */
import { cliVersion, resolveTemporalCli } from './temporal-cli';

async function main(): Promise<void> {
  const started = Date.now();
  const cli = await resolveTemporalCli((line) => console.error(line));
  if (!cli) {
    console.error('No Temporal CLI found and no Go toolchain to build one; the SDK download will be tried at start.');
    return;
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    cli.source === 'built'
      ? `Temporal CLI built from Go modules in ${cli.buildSeconds?.toFixed(1)} s: ${cli.path}`
      : `Temporal CLI from ${cli.source} in ${seconds} s (no build needed): ${cli.path}`,
  );
  console.log(`  ${cliVersion(cli.path)}`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
