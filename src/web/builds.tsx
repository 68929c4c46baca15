// Build pages: recent builds with their packages, and one build with each package's kind,
// versions, size and what a delta saves against the full package.
import type { BuildView } from '../builds/schemas.ts';
import { Badge } from './components.tsx';
import { percent } from '../format.ts';
import { bytes, saving, when } from './format.ts';

const buildHref = (id: string) => `/builds/${encodeURIComponent(id)}`;
const fullSizeOf = (b: BuildView) => b.packages.find((p) => p.kind === 'full')?.size;

/** The largest saving among a build's deltas (the one a typical device on the previous build gets). */
function bestSaving(b: BuildView): number | undefined {
  const full = fullSizeOf(b);
  const savings = b.packages.filter((p) => p.kind === 'bsdiff40').map((p) => saving(p.size, full)).filter((s): s is number => s !== undefined);
  return savings.length ? Math.max(...savings) : undefined;
}

export function BuildsContent(props: { builds: BuildView[] }) {
  return (
    <>
      <h1>Builds</h1>
      <section class="card" data-testid="builds">
        {props.builds.length === 0 ? (
          <p class="muted">No builds yet. Upload one with <code>fota build upload</code>.</p>
        ) : (
          <div class="scroll">
            <table class="stack">
              <thead>
                <tr>
                  <th>build</th>
                  <th>status</th>
                  <th class="n">image</th>
                  <th class="n">packages</th>
                  <th class="n">best delta saving</th>
                  <th class="wide">uploaded</th>
                </tr>
              </thead>
              <tbody>
                {props.builds.map((b) => {
                  const best = bestSaving(b);
                  return (
                    <tr data-testid={`build-row-${b.id}`}>
                      <td>
                        <a href={buildHref(b.id)}>
                          {b.model} {b.version}
                        </a>
                        <div class="id muted">{b.id}</div>
                      </td>
                      <td data-label="status">
                        <Badge state={b.status} />
                      </td>
                      <td class="n" data-label="image">{bytes(b.size)}</td>
                      <td class="n" data-label="packages">{String(b.packages.length)}</td>
                      <td class="n" data-label="best delta saving">{best === undefined ? '—' : percent(best)}</td>
                      <td class="wide" data-label="uploaded">{when(b.createdAt)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}

export function BuildContent(props: { build: BuildView }) {
  const b = props.build;
  const full = fullSizeOf(b);
  return (
    <>
      <p>
        <a href="/builds">← Builds</a>
      </p>
      <h1>
        {b.model} {b.version}
      </h1>
      <section class="card">
        <div class="stage-head">
          <Badge state={b.status} testid="build-status" />
          <span class="id muted">{b.id}</span>
        </div>
        {b.failureReason ? <p class="reason">{b.failureReason}</p> : null}
        <dl class="facts">
          <div>
            <dt>image</dt>
            <dd>{`${bytes(b.size)}, security version ${b.securityVersion}`}</dd>
          </div>
          <div>
            <dt>sha256</dt>
            <dd class="id">{b.sha256}</dd>
          </div>
          <div>
            <dt>uploaded, ready</dt>
            <dd>{`${when(b.createdAt)}, ${when(b.readyAt)}`}</dd>
          </div>
          <div>
            <dt>package jobs</dt>
            <dd>{`${b.jobs.done} done, ${b.jobs.running} running, ${b.jobs.queued} queued, ${b.jobs.failed} failed`}</dd>
          </div>
        </dl>
      </section>
      <section class="card">
        <h2>Packages</h2>
        <p class="muted">Saving: what a delta spares a device against the full package (1 − size / full size).</p>
        {b.packages.length === 0 ? (
          <p class="muted">No packages yet.</p>
        ) : (
          <div class="scroll">
            <table data-testid="packages">
              <thead>
                <tr>
                  <th>kind</th>
                  <th>from → to</th>
                  <th class="n">size</th>
                  <th class="n">saving</th>
                  <th class="wide">package</th>
                </tr>
              </thead>
              <tbody>
                {b.packages.map((p) => {
                  const s = p.kind === 'full' ? undefined : saving(p.size, full);
                  return (
                    <tr data-testid={`package-${p.id}`}>
                      <td>{p.kind === 'full' ? 'full image' : 'delta (bsdiff40)'}</td>
                      <td>
                        <span class="id">{p.fromVersion ?? 'any'}</span> → <span class="id">{p.toVersion}</span>
                      </td>
                      <td class="n">{bytes(p.size)}</td>
                      <td class="n" data-testid={`saving-${p.id}`}>
                        {p.kind === 'full' ? 'baseline' : s === undefined ? '—' : percent(s)}
                      </td>
                      <td class="wide">
                        <span class="id">{p.id}</span>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
