// The shapes of the API answers the pages read (see /openapi.json for the whole of them).

export interface Observation {
  id: number;
  url: string;
  obs_collection: string;
  obs_id: string;
  obs_publisher_did: string | null;
  dataproduct_type: string | null;
  target_name: string | null;
  s_ra: number | null;
  s_dec: number | null;
  t_min: number | null;
  t_max: number | null;
  t_exptime: number | null;
  instrument_name: string | null;
  filter: string | null;
  obs_type: string | null;
  night: string | null;
  status: string;
  products: Record<string, string>;
  [column: string]: unknown;
}

export interface SearchPage {
  rows: Observation[];
  next?: string;
  count?: { value: number; exact: boolean };
}

export type Facets = Record<
  'collection' | 'instrument_name' | 'filter' | 'dataproduct_type' | 'night',
  { value: string | null; count: number }[]
>;

export interface Collection {
  name: string;
  visibility: string;
  observations: number;
}

export interface FileEntry {
  key: string;
  zone: string;
  role: string;
  size: number;
  kind: string | null;
  status: string;
  contentType: string | null;
  url: string;
  headerUrl: string | null;
}

export interface Detail {
  observation: Observation;
  files: FileEntry[];
  previews: { preview: string | null; thumbnail: string | null };
  links: { relation: string; obsId: string; id: number | null; url: string | null }[];
}

export interface Header {
  key: string;
  hdus: {
    index: number;
    kind: string;
    shape: number[];
    checksum: string | null;
    cards: { keyword: string; value: unknown; type: string; comment: string }[];
  }[];
}

/** A raw file's API path (the server's own fileUrl rule). */
export function fileUrl(zone: string, key: string): string {
  const path = `/api/files/${key.split('/').map(encodeURIComponent).join('/')}`;
  return zone === 'raw' ? path : `${path}?zone=${encodeURIComponent(zone)}`;
}
