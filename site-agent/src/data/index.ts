export * from './types';
export * from './roster';
export * from './dsad-reader';
export * from './folder-reader';
export * from './dataset';
export * from './splits';
export * from './inspect';
export * from './open';
