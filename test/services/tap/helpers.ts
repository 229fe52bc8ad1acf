// Shared by the TAP tests.

// verify='exception', except for one warning: astropy's UCD list predates UCD1+ 1.3, so the UCDs
// ObsCore 1.1 prescribes for s_region (pos.outline;obs.field) and obs_publisher_did (meta.ref.ivoid)
// are "unknown words" to it (W06) — every other warning is an error.
export const READ_VOTABLE = `
import json, sys, warnings
from astropy.io.votable import parse
from astropy.io.votable.exceptions import W06
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    v = parse(sys.argv[1], verify='warn')
for w in caught:
    if not (issubclass(w.category, W06) and ('pos.outline' in str(w.message) or 'meta.ref.ivoid' in str(w.message))):
        raise SystemExit('astropy: ' + str(w.message))
res = v.resources[0]
t = res.tables[0]
a = t.array
out = {'fields': [{'name': f.name, 'datatype': f.datatype, 'unit': str(f.unit) if f.unit is not None else None,
                    'ucd': f.ucd, 'utype': f.utype, 'xtype': f.xtype} for f in t.fields],
       'rows': [[None if a.mask[i][f.name] else (a[i][f.name].item() if hasattr(a[i][f.name], 'item') else str(a[i][f.name]))
                 for f in t.fields] for i in range(len(a))],
       'infos': [(i.name, i.value) for i in res.infos]}
print(json.dumps(out, default=str))
`;

/** What Python printed as JSON (free-form; the tests assert its shape). */
// biome-ignore lint/suspicious/noExplicitAny: parsed JSON from Python and pyvo
export type Json = any;
