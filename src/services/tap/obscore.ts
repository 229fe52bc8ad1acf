// ivoa.obscore (ObsCore 1.1): a derived table over `observations`, so a TAP query on it sees only
// the caller's rows (user SQL runs against per-caller views of the catalog's tables).
import { literal } from '../../catalog/access-rule.ts';
import type { TapColumn } from './columns.ts';

/** How an ObsCore column is computed from an `observations` row `o`, and its metadata. */
interface ObsCoreColumn extends TapColumn {
  expr: string;
}

const s = (
  name: string,
  utype: string | undefined,
  ucd: string,
  description: string,
  extra: Partial<TapColumn> = {},
): Omit<ObsCoreColumn, 'expr'> => ({
  name,
  datatype: 'char',
  arraysize: '*',
  ucd,
  description,
  ...(utype ? { utype: `obscore:${utype}`, std: true } : {}),
  ...extra,
});
const d = (
  name: string,
  utype: string | undefined,
  ucd: string,
  unit: string | undefined,
  description: string,
) =>
  ({
    name,
    datatype: 'double',
    ucd,
    description,
    ...(unit ? { unit } : {}),
    ...(utype ? { utype: `obscore:${utype}`, std: true } : {}),
  }) as Omit<ObsCoreColumn, 'expr'>;
const n = (name: string, utype: string, description: string, datatype: 'int' | 'long' = 'long') =>
  ({ name, datatype, ucd: 'meta.number', utype: `obscore:${utype}`, std: true, description }) as Omit<
    ObsCoreColumn,
    'expr'
  >;

/** The MIME type ObsCore rows carry when access_url points at a DataLink document. */
export const DATALINK_FORMAT = 'application/x-votable+xml;content=datalink';

/**
 * The columns of ivoa.obscore, in order: the 30 mandatory ObsCore 1.1 columns, the optional
 * obs_release_date, then the archive's own. `base` is the service's absolute URL (no trailing
 * slash), compiled into access_url.
 *
 * access_url: an observation whose science file is FITS points at its DataLink document
 * (`<base>/datalink?ID=<obs_publisher_did>`, access_format application/x-votable+xml;content=datalink)
 * — the links to the file, its previews and the SODA cutout service; any other science file at its
 * download `<base>/api/files/<key>`; an observation whose science file has not arrived has none.
 */
export function obscoreColumns(base: string): ObsCoreColumn[] {
  const did = `COALESCE(o.obs_publisher_did, 'ivo://fitslake/' || o.obs_collection || '?' || o.obs_id)`;
  const b = literal(base);
  const fits = `o.access_format = 'application/fits'`;
  // The DID is percent-encoded already (only '%' needs escaping inside a query value).
  const accessUrl = `CASE WHEN ${fits} THEN ${b} || '/datalink?ID=' || REPLACE(${did}, '%', '%25') WHEN o.access_url LIKE 'http://%' OR o.access_url LIKE 'https://%' THEN o.access_url WHEN o.access_url IS NOT NULL THEN ${b} || o.access_url END`;
  const cols: ObsCoreColumn[] = [
    {
      ...s(
        'dataproduct_type',
        'ObsDataset.dataProductType',
        'meta.code.class',
        'Data product type: image, cube, spectrum, sed, timeseries, visibility, event or measurements',
      ),
      principal: true,
      expr: 'o.dataproduct_type',
    },
    {
      name: 'calib_level',
      datatype: 'int',
      ucd: 'meta.code;obs.calib',
      utype: 'obscore:ObsDataset.calibLevel',
      std: true,
      principal: true,
      description:
        'Calibration level: 0 raw instrumental, 1 instrumental standard format, 2 calibrated, 3 enhanced, 4 analysis',
      expr: 'COALESCE(o.calib_level, 1)',
    },
    {
      ...s('obs_collection', 'DataID.Collection', 'meta.id', 'Collection the observation belongs to'),
      principal: true,
      expr: 'o.obs_collection',
    },
    {
      ...s('obs_id', 'DataID.observationID', 'meta.id', 'Observation identifier within its collection'),
      principal: true,
      indexed: true,
      expr: 'o.obs_id',
    },
    {
      ...s(
        'obs_publisher_did',
        'Curation.PublisherDID',
        'meta.ref.ivoid',
        'Publisher dataset identifier (IVOID)',
      ),
      principal: true,
      expr: did,
    },
    {
      ...s('access_url', 'Access.Reference', 'meta.ref.url', 'URL of the DataLink document or of the file'),
      principal: true,
      expr: accessUrl,
    },
    {
      ...s('access_format', 'Access.Format', 'meta.code.mime', 'MIME type of what access_url returns'),
      principal: true,
      expr: `CASE WHEN ${fits} THEN '${DATALINK_FORMAT}' ELSE o.access_format END`,
    },
    {
      name: 'access_estsize',
      datatype: 'long',
      unit: 'kbyte',
      ucd: 'phys.size;meta.file',
      utype: 'obscore:Access.Size',
      std: true,
      description: 'Estimated size of the science file',
      expr: 'o.access_estsize',
    },
    {
      ...s('target_name', 'Target.Name', 'meta.id;src', 'Target name (OBJECT)'),
      principal: true,
      indexed: true,
      expr: 'o.target_name',
    },
    {
      ...d(
        's_ra',
        'Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C1',
        'pos.eq.ra',
        'deg',
        'Central right ascension, ICRS',
      ),
      principal: true,
      expr: 'o.s_ra',
    },
    {
      ...d(
        's_dec',
        'Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C2',
        'pos.eq.dec',
        'deg',
        'Central declination, ICRS',
      ),
      principal: true,
      expr: 'o.s_dec',
    },
    {
      ...d(
        's_fov',
        'Char.SpatialAxis.Coverage.Bounds.Extent.diameter',
        'phys.angSize;instr.fov',
        'deg',
        'Diameter of the field of view',
      ),
      expr: 'o.s_fov',
    },
    {
      ...s(
        's_region',
        'Char.SpatialAxis.Coverage.Support.Area',
        'pos.outline;obs.field',
        'Footprint, an STC-S polygon (POLYGON ICRS ra1 dec1 ra2 dec2 ..., degrees, great-circle edges)',
        { xtype: 'adql:REGION' },
      ),
      indexed: true,
      expr: 'o.s_region',
    },
    {
      ...d(
        's_resolution',
        'Char.SpatialAxis.Resolution.Refval.value',
        'pos.angResolution',
        'arcsec',
        'Spatial resolution (pixel scale when no PSF is known)',
      ),
      expr: 'o.s_resolution',
    },
    {
      ...n('s_xel1', 'Char.SpatialAxis.numBins1', 'Number of pixels along the first axis'),
      expr: 'o.s_xel1',
    },
    {
      ...n('s_xel2', 'Char.SpatialAxis.numBins2', 'Number of pixels along the second axis'),
      expr: 'o.s_xel2',
    },
    {
      ...d(
        't_min',
        'Char.TimeAxis.Coverage.Bounds.Limits.StartTime',
        'time.start;obs.exposure',
        'd',
        'Start time, MJD',
      ),
      principal: true,
      indexed: true,
      expr: 'o.t_min',
    },
    {
      ...d(
        't_max',
        'Char.TimeAxis.Coverage.Bounds.Limits.StopTime',
        'time.end;obs.exposure',
        'd',
        'Stop time, MJD',
      ),
      principal: true,
      expr: 'o.t_max',
    },
    {
      ...d(
        't_exptime',
        'Char.TimeAxis.Coverage.Support.Extent',
        'time.duration;obs.exposure',
        's',
        'Exposure time',
      ),
      principal: true,
      expr: 'o.t_exptime',
    },
    {
      ...d(
        't_resolution',
        'Char.TimeAxis.Resolution.Refval.value',
        'time.resolution',
        's',
        'Temporal resolution',
      ),
      expr: 'o.t_resolution',
    },
    { ...n('t_xel', 'Char.TimeAxis.numBins', 'Number of time samples'), expr: 'o.t_xel' },
    {
      ...d(
        'em_min',
        'Char.SpectralAxis.Coverage.Bounds.Limits.LoLimit',
        'em.wl;stat.min',
        'm',
        'Shortest wavelength',
      ),
      expr: 'o.em_min',
    },
    {
      ...d(
        'em_max',
        'Char.SpectralAxis.Coverage.Bounds.Limits.HiLimit',
        'em.wl;stat.max',
        'm',
        'Longest wavelength',
      ),
      expr: 'o.em_max',
    },
    {
      ...d(
        'em_res_power',
        'Char.SpectralAxis.Resolution.ResolPower.refVal',
        'spect.resolution',
        undefined,
        'Spectral resolving power lambda/delta-lambda',
      ),
      expr: 'o.em_res_power',
    },
    { ...n('em_xel', 'Char.SpectralAxis.numBins', 'Number of spectral samples'), expr: 'o.em_xel' },
    {
      ...s('o_ucd', 'Char.ObservableAxis.ucd', 'meta.ucd', 'UCD of the observable (e.g. phot.count)'),
      expr: 'o.o_ucd',
    },
    {
      ...s(
        'pol_states',
        'Char.PolarizationAxis.stateList',
        'meta.code;phys.polarization',
        'Polarization states, e.g. /I/Q/U/',
      ),
      expr: 'o.pol_states',
    },
    { ...n('pol_xel', 'Char.PolarizationAxis.numBins', 'Number of polarization samples'), expr: 'o.pol_xel' },
    {
      ...s(
        'facility_name',
        'Provenance.ObsConfig.facility.name',
        'meta.id;instr.tel',
        'Telescope or observatory',
      ),
      principal: true,
      expr: 'o.facility_name',
    },
    {
      ...s('instrument_name', 'Provenance.ObsConfig.instrument.name', 'meta.id;instr', 'Instrument'),
      principal: true,
      indexed: true,
      expr: 'o.instrument_name',
    },
    {
      ...s(
        'obs_release_date',
        'Curation.releaseDate',
        'time.release',
        'When the observation becomes public (end of its embargo), UTC',
        {
          xtype: 'timestamp',
        },
      ),
      expr: 'o.public_date',
    },
    // The archive's own columns.
    {
      ...s('filter', undefined, 'meta.id;instr.filter', 'Filter name (FILTER keyword)'),
      indexed: true,
      expr: 'o.filter',
    },
    { ...d('airmass', undefined, 'obs.airMass', undefined, 'Airmass at the start'), expr: 'o.airmass' },
    { ...d('altitude', undefined, 'pos.az.alt', 'deg', 'Altitude of the pointing'), expr: 'o.altitude' },
    { ...d('azimuth', undefined, 'pos.az.azi', 'deg', 'Azimuth of the pointing'), expr: 'o.azimuth' },
    { ...s('object', undefined, 'meta.id;src', 'OBJECT keyword as written'), expr: 'o.object' },
    { ...s('observer', undefined, 'meta.id.PI', 'Observer'), expr: 'o.observer' },
    { ...s('site', undefined, 'meta.id;instr.obsty', 'Observing site'), expr: 'o.site' },
    {
      ...s('night', undefined, 'time.epoch;obs', 'Observing night (local evening date, YYYY-MM-DD)'),
      expr: 'o.night',
    },
    {
      ...s(
        'public_date',
        undefined,
        'time.release',
        'End of the embargo (ISO 8601, UTC); same as obs_release_date',
        {
          xtype: 'timestamp',
        },
      ),
      indexed: true,
      expr: 'o.public_date',
    },
    {
      ...s('obs_type', undefined, 'meta.code', 'Frame type: EXPOSE, BIAS, DARK, FLAT...'),
      expr: 'o.obs_type',
    },
    {
      // The key to the headers: lake.hdr_<collection>.file_id (the artifacts primary key serves it).
      name: 'science_file_id',
      datatype: 'long',
      ucd: 'meta.id;meta.file',
      description:
        'Catalog id of the science file: join lake.hdr_<collection> ON hdr.file_id = science_file_id for its header keywords',
      expr: "(SELECT MIN(a.file_id) FROM artifacts a WHERE a.observation_id = o.id AND a.role = 'science')",
    },
  ];
  return cols;
}

/** The column the derived table carries for the HEALPix index (observation_cells.observation_id). */
export const OBSCORE_ID_COLUMN = 'obs_pk';

/** FROM-able SQL of ivoa.obscore (the observations view of the caller; plain table names only). */
export function obscoreSql(base: string): string {
  const cols = obscoreColumns(base);
  return `(SELECT ${cols.map((c) => `${c.expr} AS ${c.name}`).join(', ')}, o.id AS ${OBSCORE_ID_COLUMN} FROM observations o)`;
}

/** Metadata only (no SQL expressions). */
export function obscoreMeta(base: string): TapColumn[] {
  return obscoreColumns(base).map(({ expr: _expr, ...c }) => c);
}
