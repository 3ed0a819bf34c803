/**
 * A Worker Deployment's name, as workers, the plugin and `scopetrail deployment` take it.
 * The server names a version `<deployment>.<build id>` and reads the name up to the first
 * dot, so a name with a dot starts workers whose version can never be made current; a
 * build id may hold dots (`1.2.3`).
 */
import { z } from 'zod';

export const DeploymentName = z
  .string()
  .min(1, 'give the Worker Deployment name')
  .max(255)
  .regex(/^[^.]*$/, 'must not contain "." (Temporal names a version <deployment>.<build id> and reads the deployment name up to the first dot; use - or _ instead)');
