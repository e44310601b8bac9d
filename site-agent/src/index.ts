export * from './data';
export * from './synthetic';
