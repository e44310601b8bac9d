export * from './round-state';
export * from './secagg-state';
