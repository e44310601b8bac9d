export * from './prng';
export * from './scene';
export * from './generate';
