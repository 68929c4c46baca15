// The layers of src/ and the directions imports may take (README "Layout"). `npm run deps`
// checks them, and test/layers.test.ts runs that check with the rest of the tests, so CI
// fails on an import that runs back up or on a cycle.
//
//   composition  server.ts, start.ts, worker.ts, metrics.ts,  wires everything
//                health.ts
//   transports   api/ dm/ download/ web/ cli/  (+ http/)      thin; never import each other
//   domain       campaigns/ > deployments/ > devices/ ...     actions; never import transports
//   context.ts                                               the wiring passed down
//   store/                                                    schema, queries, artifact stores
//   libraries    omadm/ signing/ delta/ schedule/ packages/*  no server state
//   base         errors.ts files.ts hashing.ts config.ts signals.ts format.ts bounded-map.ts
//
// The device agent (device/) is an honest client: libraries and base only.
const base = '^src/(errors|files|hashing|config|signals|format|bounded-map)[.]ts$';
const libraries = '^src/(omadm|signing|delta|schedule)/|^src/packages/(?!pipeline/)';
const store = '^src/store/';
const context = '^src/context[.]ts$';
const domain = '^src/(devices|tokens|manufacturers|builds|artifacts|deployments|campaigns|audit|webhooks|profiles|scomo|enroll)/|^src/packages/pipeline/';
const device = '^src/device/';
const transports = '^src/(api|dm|download|web|cli|http)/';
const composition = '^src/(server|start|worker|metrics|health)[.]ts$';

const forbid = (name, comment, from, to) => ({ name, comment, severity: 'error', from: { path: from }, to: { path: to } });

module.exports = {
  forbidden: [
    { name: 'no-cycles', comment: 'A cycle makes two modules one; split what they share out below both.', severity: 'error', from: {}, to: { circular: true } },
    forbid('base-imports-only-base', 'errors, files, hashing, config and the signal port are the floor.', base, [libraries, store, context, domain, device, transports, composition].join('|')),
    forbid('libraries-hold-no-server', 'Protocol, signing, delta and package-format code is shared with the device agent: no store, context or server.', libraries, [store, context, domain, device, transports, composition].join('|')),
    forbid('omadm-imports-only-base', 'The OMA DM library (codecs, auth, Package 0, notifier) stands alone.', '^src/omadm/', '^src/(?!omadm/|errors[.]ts$)'),
    forbid('store-is-below-the-domain', 'The store serves the domain; it never calls it.', store, [context, domain, device, transports, composition].join('|')),
    forbid('context-is-below-the-domain', 'The context wires parts; higher layers signal through its ports, never by being imported by it.', context, [domain, device, transports, composition].join('|')),
    forbid('domain-is-below-transports', 'Domain actions are called by transports, never the other way.', domain, [device, transports, composition].join('|')),
    forbid('devices-below-deployments', 'devices < deployments < campaigns: a device knows nothing of how it is updated.', '^src/(devices|tokens|manufacturers)/', '^src/(deployments|campaigns)/'),
    forbid('deployments-below-campaigns', 'A deployment does not know the campaign engine; campaigns drive deployments.', '^src/deployments/', '^src/campaigns/'),
    forbid('device-is-an-honest-client', 'The reference agent talks HTTP like a real device (CONVENTIONS 5).', device, [store, context, domain, transports, composition].join('|')),
    forbid('transports-do-not-import-each-other', 'Shared HTTP pieces live in http/.', '^src/api/', '^src/(dm|download|web|cli)/'),
    forbid('dm-stands-alone', 'Shared HTTP pieces live in http/.', '^src/dm/', '^src/(api|download|web|cli)/'),
    forbid('download-stands-alone', 'Shared HTTP pieces live in http/.', '^src/download/', '^src/(api|dm|web|cli)/'),
    forbid('web-stands-alone', 'Shared HTTP pieces live in http/.', '^src/web/', '^src/(api|dm|download|cli)/'),
    forbid('http-helpers-are-shared', 'http/ is below every transport.', '^src/http/', '^src/(api|dm|download|web|cli)/|' + composition),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: require('node:path').join(__dirname, 'tsconfig.json') },
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.cjs', '.js'] },
  },
};
