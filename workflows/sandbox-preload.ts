/**
 * Evaluated once per workflow thread, before any workflow, and shared by all of them
 * (the plugin lists it in `bundlerOptions.preloadModules`). It is what actually shares
 * zod: zod's package declares itself free of side effects, so the bundler drops a bare
 * `require('zod')` from the preload list, and every workflow then evaluated zod's
 * modules again. Using zod here keeps them in the preload.
 *
 * The SDK deep-freezes shared modules once they are loaded, so whatever zod keeps in
 * its global config is settled first: building and parsing one schema registers its
 * default locale and memoizer and answers whether code generation is allowed.
 *
 * Each workflow evaluates its own copy of the CIM schemas (zod writes to a schema while
 * parsing, which a frozen module forbids), so a schema there parses a handful of values
 * before it is dropped: zod's compiled fast path, which generates and compiles code on
 * a schema's first parse, costs more than it saves at that count. The sandbox's zod
 * parses without it; the worker process keeps it.
 */
import { z } from 'zod';

z.object({ settled: z.string() }).safeParse({ settled: '' });
z.config({ jitless: true });
