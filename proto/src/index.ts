export * from './generated/v1/federation';
export * from './transfer';
export * from './server-flow-control';
export * from './malloc-tuning';
export * from './heap-tuning';
export * from './chunk-codec';
export * as secagg from './secagg';
export * from './settings-issues';
