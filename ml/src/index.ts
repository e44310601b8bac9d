export * from './weights/named-tensors';
export * from './weights/safetensors';
export * from './classes/dsad';
