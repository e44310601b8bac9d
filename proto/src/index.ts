export * from './generated/v1/federation';
export * from './transfer';
export * from './settings-issues';
