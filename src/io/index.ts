export { type Container, decompressFile, detectContainer } from './compressed.ts';
export { FileSource } from './file-source.ts';
export { HttpSource, type HttpSourceOptions } from './http-source.ts';
export { type OpenSourceOptions, openSource } from './open.ts';
export { StreamSource, type StreamLimits } from './stream-source.ts';
