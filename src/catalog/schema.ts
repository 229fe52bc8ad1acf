import type { ColumnType, Generated } from 'kysely';

/**
 * The catalog's tables as TypeScript sees them (Kysely keeps every query typed against this, on
 * SQLite and PostgreSQL alike). Timestamps are ISO 8601 text so both engines sort them the same;
 * JSON documents (cards, settings, payloads) are text.
 */
type BigIntish = ColumnType<number, number | bigint, number | bigint>;

export interface CollectionTable {
  name: string;
  visibility: Generated<string>; // public | private | shared
  proprietary_days: Generated<number>;
  calib_level: number | null;
  dataproduct_type: string | null;
  settings: Generated<string>; // JSON
  created_at: string;
}

export interface FileTable {
  id: Generated<number>;
  zone: string;
  key: string;
  /** Content hash: a file version is immutable and identified by it. */
  sha256: string;
  size: BigIntish;
  etag: string | null;
  content_type: string | null;
  status: string; // pending | ingested | failed
  error: string | null;
  collection: string | null;
  /** 1 for the newest version of zone+key (older versions stay until lifecycle rules remove them). */
  current: Generated<number>;
  /** What the extractor found by content: fits | image | header | plain. */
  kind: string | null;
  /** JSON: what the extractor learned beyond HDUs (image dimensions, EXIF, compression). */
  info: string | null;
  /** JSON: columns read from the key (Hive key=value folders, the collection's path template). */
  path_fields: string | null;
  created_at: string;
  updated_at: string;
}

export interface HduTable {
  file_id: number;
  idx: number;
  kind: string;
  header_offset: BigIntish;
  data_offset: BigIntish;
  data_span: BigIntish;
  shape: string; // JSON array, NAXIS1 first
  checksum: string | null; // ok | bad | absent
  datasum: string | null;
  cards: string; // JSON: every card
  /** JSON object keyword → first value, for the typed per-collection views. */
  keyvalues: string | null;
}

/** ObsCore 1.1 columns plus the archive's own. */
export interface ObservationTable {
  id: Generated<number>;
  obs_collection: string;
  obs_id: string;
  obs_publisher_did: string | null;
  dataproduct_type: string | null;
  calib_level: number | null;
  access_url: string | null;
  access_format: string | null;
  access_estsize: BigIntish | null;
  target_name: string | null;
  s_ra: number | null;
  s_dec: number | null;
  s_fov: number | null;
  s_region: string | null;
  s_resolution: number | null;
  s_xel1: BigIntish | null;
  s_xel2: BigIntish | null;
  t_min: number | null;
  t_max: number | null;
  t_exptime: number | null;
  t_resolution: number | null;
  t_xel: BigIntish | null;
  em_min: number | null;
  em_max: number | null;
  em_res_power: number | null;
  em_xel: BigIntish | null;
  o_ucd: string | null;
  pol_states: string | null;
  pol_xel: BigIntish | null;
  facility_name: string | null;
  instrument_name: string | null;
  filter: string | null;
  airmass: number | null;
  altitude: number | null;
  azimuth: number | null;
  object: string | null;
  observer: string | null;
  site: string | null;
  night: string | null;
  public_date: string | null;
  owner: string | null;
  group_name: string | null;
  /** JSON: which products of the group have arrived, role → file key. */
  products: Generated<string>;
  /** placeholder (only previews/dumps so far) | complete (its science file arrived). */
  status: Generated<string>;
  /** How authoritative the metadata is: 0 none, 1 image file, 2 header dump, 3 FITS. */
  meta_rank: Generated<number>;
  /** Frame type from the name or IMAGETYP/OBSTYPE: EXPOSE, BIAS, DARK, FLAT… */
  obs_type: string | null;
  created_at: string;
  updated_at: string;
}

/** A related observation named by a header keyword (a science frame's bias, dark, flat…). */
export interface ObservationLinkTable {
  observation_id: number;
  relation: string;
  target_obs_id: string;
}

export interface CrawlerStateTable {
  collection: string;
  last_file_id: BigIntish;
  view_columns: string; // JSON
  updated_at: string;
}

/** HEALPix (nested) cells covering each observation's footprint: cone and polygon searches hit this B-tree. */
export interface ObservationCellTable {
  observation_id: number;
  cell: BigIntish;
}

export interface ArtifactTable {
  observation_id: number;
  file_id: number;
  role: string; // raw | small | jpg | thumb | hdr | preview…
}

export interface KeywordTable {
  collection: string;
  keyword: string;
  count: BigIntish;
  type: string;
  examples: string; // JSON
  first_seen: string;
  last_seen: string;
}

export interface JobTable {
  id: Generated<number>;
  kind: string;
  payload: string; // JSON
  status: string; // queued | running | done | failed
  attempts: Generated<number>;
  max_attempts: Generated<number>;
  lease_owner: string | null;
  lease_until: string | null;
  run_after: string;
  error: string | null;
  created_at: string;
  updated_at: string;
}

export interface EventTable {
  id: Generated<number>;
  kind: string;
  payload: string; // JSON
  created_at: string;
}

export interface UserTable {
  name: string;
  roles: string; // JSON array of reader | uploader | curator | admin
  groups: string; // JSON array
  created_at: string;
}

/** An API token: only its SHA-256 is stored; `prefix` (its first characters) identifies it to people. */
export interface TokenTable {
  id: Generated<number>;
  user_name: string;
  label: string | null;
  hash: string;
  prefix: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

/** A TAP asynchronous job (UWS 1.1), kept across restarts; its result file is in the derived zone. */
export interface TapJobTable {
  /** Unguessable (128 random bits): an anonymous job is reachable by its id only. */
  id: string;
  /** The creating user; null: anonymous. */
  owner: string | null;
  /** JSON: the creator as a Caller (user, roles, groups), re-read from the accounts when it runs. */
  caller: string;
  run_id: string | null;
  /** PENDING | QUEUED | EXECUTING | COMPLETED | ERROR | ABORTED */
  phase: string;
  /** JSON object: upper-case parameter name → value (LANG, QUERY, FORMAT, MAXREC…). */
  parameters: string;
  /** The service's absolute URL when the job was created (for access_url and result links). */
  base_url: string;
  /** Seconds. */
  execution_duration: number;
  destruction: string;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  error: string | null;
  result_key: string | null;
  result_type: string | null;
  result_size: BigIntish | null;
  result_rows: BigIntish | null;
  overflow: Generated<number>;
}

export interface Database {
  collections: CollectionTable;
  files: FileTable;
  hdus: HduTable;
  observations: ObservationTable;
  observation_cells: ObservationCellTable;
  artifacts: ArtifactTable;
  keywords: KeywordTable;
  jobs: JobTable;
  events: EventTable;
  observation_links: ObservationLinkTable;
  crawler_state: CrawlerStateTable;
  users: UserTable;
  tokens: TokenTable;
  tap_jobs: TapJobTable;
}
