// Tools run in the worker process: they may do I/O.
import { z } from 'zod';
import { defineTool, reportResource } from 'scopetrail';

export const lookupTicket = defineTool(
  {
    name: 'lookupTicket',
    description: 'Reads a support ticket',
    input: z.object({ ticket: z.string().min(1) }),
    output: z.object({ ticket: z.string(), priority: z.enum(['low', 'high']) }),
  },
  async ({ ticket }) => {
    // Known only at run time, so reported rather than declared.
    reportResource({ uri: `db:tickets/${ticket}`, mode: 'read' });
    return { ticket, priority: ticket.endsWith('2') ? ('high' as const) : ('low' as const) };
  },
);

export const notifyOnCall = defineTool(
  {
    name: 'notifyOnCall',
    description: 'Pages the on-call engineer',
    input: z.object({ ticket: z.string(), note: z.string() }),
    output: z.object({ sent: z.boolean() }),
    resources: [{ uri: 'api:pager', mode: 'write' }],
  },
  async () => ({ sent: true }),
);

export const tools = { lookupTicket, notifyOnCall };
export type StarterTools = typeof tools;
