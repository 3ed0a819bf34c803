/**
 * A prebuilt workflow bundle run on a worker with ScopetrailPlugin must hold scopetrail's
 * workflow interceptors: the plugin cannot add them to a bundle already made, and without
 * them agents run with no scope context (their records are refused or lost). The bundle's
 * code is read for the mark only the interceptors module carries (workflows/interceptors.ts).
 */
import { readFileSync } from 'node:fs';
import type { WorkflowBundleOption } from '@temporalio/worker';
import { ScopetrailConfigError } from '../cim/errors';

/** The text of BUNDLE_MARK in workflows/interceptors.ts (not imported: that module runs in the sandbox). */
export const BUNDLE_MARK = 'scopetrail:workflow-interceptors:1';

/**
 * Throws when the bundle's code lacks scopetrail's workflow interceptors. A `codePath`
 * that cannot be read is left for Temporal's Worker.create to report.
 */
export function checkWorkflowBundle(bundle: WorkflowBundleOption, context = 'ScopetrailPlugin'): void {
  const code = bundleCode(bundle);
  if (code === undefined || code.includes(BUNDLE_MARK)) return;
  const where = 'codePath' in bundle && typeof bundle.codePath === 'string' ? ` (${bundle.codePath})` : '';
  throw new ScopetrailConfigError(
    `${context}: the workflowBundle${where} was made without scopetrail's workflow interceptors, so its agents could not record their scopes. ` +
      'Build it with the plugin (bundleWorkflowCode({ workflowsPath, plugins: [new ScopetrailPlugin({ … })] })), ' +
      "or add the module to it (workflowInterceptorModules: [WORKFLOW_INTERCEPTORS_MODULE]), or use bundleAgents(agentsPath) (see the README's \"Prebuilt workflow bundles\")",
    'workflowBundle',
  );
}

function bundleCode(bundle: WorkflowBundleOption): string | undefined {
  if ('code' in bundle && typeof bundle.code === 'string') return bundle.code;
  if ('codePath' in bundle && typeof bundle.codePath === 'string') {
    try {
      return readFileSync(bundle.codePath, 'utf8');
    } catch {
      return undefined;
    }
  }
  return undefined;
}
