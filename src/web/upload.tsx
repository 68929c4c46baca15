// Uploading a build from the console, for a manufacturer's session: model, version and an
// image file, sent by a small script with XMLHttpRequest so the page shows the upload's
// progress; the route streams the body into the same uploadBuild the API calls (never held
// in memory), so the limits and refusals are the API's.
import { uploadScript } from './upload-script.ts';

export const UPLOAD_PATH = '/builds/upload';

export const UPLOAD_SCRIPT = uploadScript({
  form: 'upload',
  bar: 'upload-progress',
  status: 'upload-status',
  file: 'image',
  missing: 'Choose the image file first.',
  path: UPLOAD_PATH,
  okStatus: 202,
  query: "var q = new URLSearchParams({ model: field('model'), version: field('version') }); var sv = field('securityVersion'); if (sv) q.set('securityVersion', sv);",
  done: "out.textContent = 'Uploaded as build ' + body.id + ': its packages are being made (' + body.jobs + ' job' + (body.jobs === 1 ? '' : 's') + ').'; out.dataset.buildId = body.id;",
  doneKey: 'buildId',
});

export function UploadContent(props: { maxBytes: number }) {
  return (
    <>
      <h1>Upload a build</h1>
      <form id="upload" class="card form" data-testid="upload-form">
        <fieldset>
          <legend>Build</legend>
          <label>
            model
            <input name="model" size={16} autocomplete="off" data-testid="upload-model" />
          </label>
          <label>
            version
            <input name="version" size={10} autocomplete="off" data-testid="upload-version" />
          </label>
          <label>
            security version (optional)
            <input name="securityVersion" size={4} inputmode="numeric" autocomplete="off" />
          </label>
          <label>
            image
            <input name="image" type="file" data-testid="upload-file" />
          </label>
        </fieldset>
        <p class="muted">{`Up to ${props.maxBytes} bytes. The image is signed into packages here: a full one and a delta from recent earlier builds of the model.`}</p>
        <button class="primary" type="submit" data-testid="upload-submit">
          Upload
        </button>
        <progress id="upload-progress" hidden data-testid="upload-progress" />
        <p id="upload-status" role="status" aria-live="polite" data-testid="upload-status" />
      </form>
      <noscript>
        <p>Uploading from the console needs JavaScript; without it use <code>fota build upload</code>.</p>
      </noscript>
    </>
  );
}
