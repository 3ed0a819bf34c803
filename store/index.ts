export { openStore, defaultDataDir, type OpenStoreOptions } from './open';
export type { Store, ActionsUnderOptions, PayloadRecord } from './types';
export { SqlStore } from './sql-store';
