export * from './errors';
export * from './ca';
export * from './grpc';
export { writeFileAtomic, assertPrivateFileMode, PRIVATE_FILE_MODE, PUBLIC_FILE_MODE } from './files';
