/** Storage failures, typed so ingestion can tell retry (io) from do-not-retry (invalid-key). */
export type StorageErrorCode = 'invalid-key' | 'not-found' | 'io';

export class StorageError extends Error {
  override name = 'StorageError';
  readonly code: StorageErrorCode;
  readonly key?: string;

  constructor(code: StorageErrorCode, message: string, key?: string) {
    super(key === undefined ? message : `${JSON.stringify(key)}: ${message}`);
    this.code = code;
    if (key !== undefined) this.key = key;
  }
}
