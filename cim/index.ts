export * from './schemas';
export * from './ids';
export * from './status';
export { canonicalJson } from './canonical-json';
export * from './envelope';
export * from './scope-tree';
export * from './allowance';
export * from './forensics';
