// The console's uploads (a build, an application) send the file as the request body, not
// multipart, so the server streams it straight into the artifact store, and show the bytes
// sent as they go. One script for both; each page names its elements, its query and what
// it says once the server has answered. Text only (textContent).

export interface UploadScriptParts {
  /** Element ids: the form, its <progress> and its status line. */
  form: string;
  bar: string;
  status: string;
  /** The file input's name, and what to say when no file was chosen. */
  file: string;
  missing: string;
  /** The route the body is posted to, and the status it answers on success. */
  path: string;
  okStatus: number;
  /** JavaScript statements that declare `q` (URLSearchParams) using `field(name)`. */
  query: string;
  /** JavaScript statements run on success with `body` (the JSON answer) and `out`. */
  done: string;
  /** The status line's data key that `done` sets, cleared before each send. */
  doneKey: string;
}

export function uploadScript(p: UploadScriptParts): string {
  return `
(function () {
  var form = document.getElementById('${p.form}');
  if (!form) return;
  var bar = document.getElementById('${p.bar}');
  var out = document.getElementById('${p.status}');
  function size(n) { return n < 1048576 ? (n / 1024).toFixed(1) + ' KiB' : (n / 1048576).toFixed(1) + ' MiB'; }
  function field(name) { return form.elements.namedItem(name).value.trim(); }
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var file = form.elements.namedItem('${p.file}').files[0];
    if (!file) { out.textContent = '${p.missing}'; return; }
    ${p.query}
    var xhr = new XMLHttpRequest();
    xhr.open('POST', '${p.path}?' + q.toString());
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
      if (xhr.status === ${p.okStatus} && body) {
        ${p.done}
      } else {
        out.textContent = (body && body.error && body.error.message) || ('upload failed (' + xhr.status + ')');
        out.dataset.error = '1';
      }
    });
    xhr.addEventListener('error', function () { form.querySelector('button').disabled = false; out.textContent = 'upload failed: the connection broke'; });
    out.textContent = 'Sending…';
    delete out.dataset.${p.doneKey}; delete out.dataset.error;
    xhr.send(file);
  });
})();
`;
}
