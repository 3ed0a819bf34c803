/**
 * The alternative a user would bolt on: Temporal's own OpenTelemetry interceptors
 * (workflow, activity and sink) through OpenTelemetryPlugin. It is built on the 1.x
 * OpenTelemetry SDK that @temporalio/interceptors-opentelemetry depends on, so that copy
 * is loaded from the plugin's own dependencies. Spans go to a batching processor and an
 * in-memory exporter emptied at each export: no network cost is counted, which favours
 * this baseline over scopetrail's writes to Postgres.
 */
import { createRequire } from 'node:module';
import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';

type PluginOptions = ConstructorParameters<typeof OpenTelemetryPlugin>[0];

export function otelPlugin(): { plugin: OpenTelemetryPlugin; exported: () => number } {
  const fromPlugin = createRequire(require.resolve('@temporalio/interceptors-opentelemetry'));
  const sdk = fromPlugin('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  const resources = fromPlugin('@opentelemetry/resources') as { Resource: new (attrs: Record<string, string>) => unknown };
  let count = 0;
  const exporter = new sdk.InMemorySpanExporter();
  const original = exporter.export.bind(exporter);
  exporter.export = (spans, done) => {
    count += spans.length;
    original(spans, done);
    exporter.reset();
  };
  const plugin = new OpenTelemetryPlugin({
    resource: new resources.Resource({ 'service.name': 'scopetrail-bench' }) as PluginOptions['resource'],
    spanProcessor: new sdk.BatchSpanProcessor(exporter) as unknown as PluginOptions['spanProcessor'],
  });
  return { plugin, exported: () => count };
}
