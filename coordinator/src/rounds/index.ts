export * from './round-state';
