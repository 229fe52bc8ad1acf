// VOSI documents of the TAP service: capabilities (with TAPRegExt), availability and the
// VODataService tableset (whole, ?detail=min, or one table).
import type { TapColumn } from './columns.ts';
import { adqlName, type TapMetadata, type TapTable } from './metadata.ts';
import type { UwsLimits } from './uws.ts';
import { OUTPUT_FORMATS, xml } from './votable.ts';

const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
const VR = 'http://www.ivoa.net/xml/VOResource/v1.0';
const VS = 'http://www.ivoa.net/xml/VODataService/v1.1';
const TR = 'http://www.ivoa.net/xml/TAPRegExt/v1.0';

/** ADQL 2.1 geometry functions the translator implements (TAPRegExt features-adqlgeo). */
const GEOMETRY = [
  'POINT',
  'CIRCLE',
  'BOX',
  'POLYGON',
  'CONTAINS',
  'INTERSECTS',
  'DISTANCE',
  'AREA',
  'COORD1',
  'COORD2',
];

const feature = (form: string, description?: string) =>
  `<feature><form>${xml(form)}</form>${description ? `<description>${xml(description)}</description>` : ''}</feature>`;

export function capabilities(base: string, limits: UwsLimits): string {
  const url = (p: string) => xml(`${base}${p}`);
  const vosi = (id: string, path: string) =>
    `<capability standardID="ivo://ivoa.net/std/VOSI#${id}"><interface xsi:type="vs:ParamHTTP"><accessURL use="full">${url(path)}</accessURL></interface></capability>`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<vosi:capabilities xmlns:vosi="http://www.ivoa.net/xml/VOSICapabilities/v1.0" xmlns:xsi="${XSI}" xmlns:vr="${VR}" xmlns:vs="${VS}" xmlns:tr="${TR}">`,
    '<capability standardID="ivo://ivoa.net/std/TAP" xsi:type="tr:TableAccess">',
    `<interface xsi:type="vs:ParamHTTP" role="std" version="1.1"><accessURL use="base">${url('/tap')}</accessURL></interface>`,
    '<dataModel ivo-id="ivo://ivoa.net/std/ObsCore#core-1.1">ObsCore-1.1</dataModel>',
    '<language>',
    '<name>ADQL</name>',
    '<version ivo-id="ivo://ivoa.net/std/ADQL#v2.1">2.1</version>',
    '<version ivo-id="ivo://ivoa.net/std/ADQL#v2.0">2.0</version>',
    "<description>ADQL 2.1, translated to the catalog engine's SQL; cone and polygon searches use a HEALPix index</description>",
    '<languageFeatures type="ivo://ivoa.net/std/TAPRegExt#features-adqlgeo">',
    ...GEOMETRY.map((g) => feature(g)),
    '</languageFeatures>',
    '<languageFeatures type="ivo://ivoa.net/std/TAPRegExt#features-adql-sets">',
    feature('UNION'),
    feature('EXCEPT'),
    feature('INTERSECT'),
    '</languageFeatures>',
    '<languageFeatures type="ivo://ivoa.net/std/TAPRegExt#features-adql-string">',
    feature('LOWER'),
    feature('ILIKE'),
    '</languageFeatures>',
    '<languageFeatures type="ivo://ivoa.net/std/TAPRegExt#features-adql-offset">',
    feature('OFFSET'),
    '</languageFeatures>',
    '<languageFeatures type="ivo://ivoa.net/std/TAPRegExt#features-adql-type">',
    feature('CAST'),
    '</languageFeatures>',
    '<languageFeatures type="ivo://ivoa.net/std/TAPRegExt#features-adql-common-table">',
    feature('WITH'),
    '</languageFeatures>',
    '</language>',
    ...OUTPUT_FORMATS.map(
      (f) =>
        `<outputFormat${f.ivoId ? ` ivo-id="${f.ivoId}"` : ''}><mime>${xml(f.mime)}</mime>${f.aliases
          .filter((a) => !a.includes('/') || a.startsWith('votable/'))
          .map((a) => `<alias>${xml(a)}</alias>`)
          .join('')}</outputFormat>`,
    ),
    `<retentionPeriod><default>${limits.defaultRetention}</default><hard>${limits.maxRetention}</hard></retentionPeriod>`,
    `<executionDuration><default>${limits.defaultDuration}</default><hard>${limits.maxDuration}</hard></executionDuration>`,
    `<outputLimit><default unit="row">${limits.defaultMaxrec}</default><hard unit="row">${limits.hardMaxrec}</hard></outputLimit>`,
    '</capability>',
    vosi('capabilities', '/tap/capabilities'),
    vosi('availability', '/tap/availability'),
    vosi('tables', '/tap/tables'),
    '</vosi:capabilities>',
    '',
  ].join('\n');
}

/** Capabilities of a simple DAL service (SIA, cone search): its standard, its endpoint, and VOSI. */
export function simpleCapabilities(
  base: string,
  service: { standardID: string; path: string; vosiPath: string },
): string {
  const url = (p: string) => xml(`${base}${p}`);
  const vosi = (id: string, path: string) =>
    `<capability standardID="ivo://ivoa.net/std/VOSI#${id}"><interface xsi:type="vs:ParamHTTP"><accessURL use="full">${url(path)}</accessURL></interface></capability>`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<vosi:capabilities xmlns:vosi="http://www.ivoa.net/xml/VOSICapabilities/v1.0" xmlns:xsi="${XSI}" xmlns:vr="${VR}" xmlns:vs="${VS}">`,
    `<capability standardID="${xml(service.standardID, true)}">`,
    `<interface xsi:type="vs:ParamHTTP" role="std"><accessURL use="base">${url(service.path)}</accessURL></interface>`,
    '</capability>',
    vosi('capabilities', `${service.vosiPath}/capabilities`),
    vosi('availability', `${service.vosiPath}/availability`),
    '</vosi:capabilities>',
    '',
  ].join('\n');
}

export function availability(available: boolean, note: string): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<vosi:availability xmlns:vosi="http://www.ivoa.net/xml/VOSIAvailability/v1.0">`,
    `<vosi:available>${available}</vosi:available>`,
    `<vosi:note>${xml(note)}</vosi:note>`,
    '</vosi:availability>',
    '',
  ].join('\n');
}

function column(c: TapColumn): string {
  const parts = [`<name>${xml(adqlName(c.name))}</name>`];
  if (c.description) parts.push(`<description>${xml(c.description)}</description>`);
  if (c.unit) parts.push(`<unit>${xml(c.unit)}</unit>`);
  if (c.ucd) parts.push(`<ucd>${xml(c.ucd)}</ucd>`);
  if (c.utype) parts.push(`<utype>${xml(c.utype)}</utype>`);
  // VODataService 1.1 carries the xtype as the dataType's extendedType.
  const attrs = [
    ...(c.arraysize ? [` arraysize="${xml(c.arraysize, true)}"`] : []),
    ...(c.xtype ? [` extendedType="${xml(c.xtype, true)}"`] : []),
  ].join('');
  parts.push(`<dataType xsi:type="vs:VOTableType"${attrs}>${c.datatype}</dataType>`);
  if (c.indexed) parts.push('<flag>indexed</flag>');
  if (c.principal) parts.push('<flag>principal</flag>');
  return `<column${c.std ? ' std="true"' : ''}>${parts.join('')}</column>`;
}

function foreignKeys(t: TapTable, meta: TapMetadata): string[] {
  return meta.keys
    .filter((k) => k.from === t.name)
    .map(
      (k) =>
        `<foreignKey><targetTable>${xml(k.target)}</targetTable>${k.columns
          .map(
            ([f, to]) =>
              `<fkColumn><fromColumn>${xml(adqlName(f))}</fromColumn><targetColumn>${xml(adqlName(to))}</targetColumn></fkColumn>`,
          )
          .join('')}<description>${xml(k.description)}</description></foreignKey>`,
    );
}

function table(t: TapTable, meta: TapMetadata, detail: boolean, root = false): string {
  const ns = root
    ? ` xmlns:vosi="http://www.ivoa.net/xml/VOSITables/v1.0" xmlns:xsi="${XSI}" xmlns:vs="${VS}"`
    : '';
  const tag = root ? 'vosi:table' : 'table';
  return [
    `<${tag}${ns} type="${t.type}">`,
    `<name>${xml(t.name)}</name>`,
    `<description>${xml(t.description)}</description>`,
    ...(t.utype ? [`<utype>${xml(t.utype)}</utype>`] : []),
    ...(detail ? [...t.columns.map(column), ...foreignKeys(t, meta)] : []),
    `</${tag}>`,
  ].join('\n');
}

/** The tableset; `detail=false` lists tables without their columns (pyvo fetches those lazily). */
export function tableset(meta: TapMetadata, detail: boolean): string {
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<vosi:tableset xmlns:vosi="http://www.ivoa.net/xml/VOSITables/v1.0" xmlns:xsi="${XSI}" xmlns:vs="${VS}">`,
  ];
  for (const s of meta.schemas) {
    const tables = meta.tables.filter((t) => t.schema === s.name);
    if (!tables.length) continue;
    out.push('<schema>', `<name>${xml(s.name)}</name>`, `<description>${xml(s.description)}</description>`);
    for (const t of tables) out.push(table(t, meta, detail));
    out.push('</schema>');
  }
  out.push('</vosi:tableset>', '');
  return out.join('\n');
}

/** One table with its columns (VOSI 1.1 /tables/{name}). */
export function tableDoc(t: TapTable, meta: TapMetadata): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${table(t, meta, true, true)}\n`;
}
