export { StorageError, type StorageErrorCode } from './errors.ts';
export { validateKey, validatePrefix } from './keys.ts';
export { LocalStore } from './local-store.ts';
export type { Body, ListOptions, ListResult, ObjectMeta, ObjectStore, PutOptions } from './object-store.ts';
export { S3Store, type S3StoreOptions } from './s3-store.ts';
