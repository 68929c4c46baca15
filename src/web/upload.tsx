// Uploading a build from the console, for a manufacturer's session: model, version and an
// image file, sent by a small script with XMLHttpRequest so the page shows the upload's
// progress; the route streams the body into the same uploadBuild the API calls (never held
// in memory), so the limits and refusals are the API's.
export const UPLOAD_PATH = '/builds/upload';

/**
 * Sends the file as the request body (not multipart: the server streams it straight into
 * the artifact store) and shows bytes sent as they go. Text only (textContent).
 */
export const UPLOAD_SCRIPT = `
(function () {
  var form = document.getElementById('upload');
  if (!form) return;
  var bar = document.getElementById('upload-progress');
  var out = document.getElementById('upload-status');
  function size(n) { return n < 1048576 ? (n / 1024).toFixed(1) + ' KiB' : (n / 1048576).toFixed(1) + ' MiB'; }
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var file = form.elements.namedItem('image').files[0];
    if (!file) { out.textContent = 'Choose the image file first.'; return; }
    var q = new URLSearchParams({ model: form.elements.namedItem('model').value.trim(), version: form.elements.namedItem('version').value.trim() });
    var sv = form.elements.namedItem('securityVersion').value.trim();
    if (sv) q.set('securityVersion', sv);
    var xhr = new XMLHttpRequest();
    xhr.open('POST', '${UPLOAD_PATH}?' + q.toString());
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    bar.max = file.size; bar.value = 0; bar.hidden = false;
    form.querySelector('button').disabled = true;
    xhr.upload.addEventListener('progress', function (p) {
      bar.value = p.loaded;
      out.textContent = 'Sending: ' + size(p.loaded) + ' of ' + size(file.size) + ' (' + Math.floor((p.loaded / file.size) * 100) + '%)';
      out.dataset.sent = String(p.loaded);
    });
    xhr.addEventListener('load', function () {
      form.querySelector('button').disabled = false;
      var body = null;
      try { body = JSON.parse(xhr.responseText); } catch (err) { body = null; }
      if (xhr.status === 202 && body) {
        out.textContent = 'Uploaded as build ' + body.id + ': its packages are being made (' + body.jobs + ' job' + (body.jobs === 1 ? '' : 's') + ').';
        out.dataset.buildId = body.id;
      } else {
        out.textContent = (body && body.error && body.error.message) || ('upload failed (' + xhr.status + ')');
        out.dataset.error = '1';
      }
    });
    xhr.addEventListener('error', function () { form.querySelector('button').disabled = false; out.textContent = 'upload failed: the connection broke'; });
    out.textContent = 'Sending…';
    delete out.dataset.buildId; delete out.dataset.error;
    xhr.send(file);
  });
})();
`;

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
