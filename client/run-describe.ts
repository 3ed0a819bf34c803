/**
 * A run described by the raw service call, which decodes nothing: the handle's describe()
 * also decodes the run's memo, and a run encoded with a payload codec the client lacks then
 * fails to be described at all, although finding it and its status needs none of its payloads.
 */
import { isGrpcServiceError, type Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { temporal as proto } from '@temporalio/proto';

const GRPC_NOT_FOUND = 5;
const STATUS_PREFIX = 'WORKFLOW_EXECUTION_STATUS_';

export interface DescribedRun {
  runId: string;
  historyLength: number;
  /** As the SDK names it: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, CONTINUED_AS_NEW, TIMED_OUT… */
  status: string;
  /** The memo's payloads as Temporal holds them (encoded, under a codec). */
  memo: Payload[];
}

/** The current run of `workflowId`, or undefined when Temporal has none of that id. */
export async function describeRun(temporal: Client, workflowId: string): Promise<DescribedRun | undefined> {
  try {
    const res = await temporal.workflowService.describeWorkflowExecution({ namespace: temporal.options.namespace, execution: { workflowId } });
    const info = res.workflowExecutionInfo;
    const name = proto.api.enums.v1.WorkflowExecutionStatus[info?.status ?? 0] ?? 'UNKNOWN';
    const status = name.replace(STATUS_PREFIX, '');
    return {
      runId: info?.execution?.runId ?? '',
      historyLength: Number(info?.historyLength ?? 0),
      status: status === 'CANCELED' ? 'CANCELLED' : status,
      memo: Object.values(info?.memo?.fields ?? {}) as Payload[],
    };
  } catch (err) {
    if (isGrpcServiceError(err) && err.code === GRPC_NOT_FOUND) return undefined;
    throw err;
  }
}

/**
 * Whether `payloads` were encoded with a payload codec `temporal`'s client does not have:
 * it has no codec, and its payload converter does not know their encoding (a codec's own,
 * such as `binary/encrypted`). A client with codecs is taken to have the workers'.
 */
export function encodedWithoutCodec(temporal: Client, payloads: readonly Payload[]): boolean {
  const converter = temporal.options.loadedDataConverter;
  if (converter.payloadCodecs.length > 0) return false;
  return payloads.some((p) => {
    try {
      converter.payloadConverter.fromPayload(p);
      return false;
    } catch (err) {
      return /unknown encoding/i.test((err as Error).message ?? '');
    }
  });
}
