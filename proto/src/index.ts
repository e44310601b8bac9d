export * from './generated/v1/federation';
export * from './transfer';
export * from './chunk-codec';
export * as secagg from './secagg';
export * from './settings-issues';
