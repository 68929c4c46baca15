// The console's only style sheet and script, sent inline under the response's CSP nonce so
// the page loads nothing else. Both are constants: no request data ever goes into them.

/**
 * Small and responsive: one column on a phone, a max width on a laptop; list tables
 * (class stack) become one block per row on a phone, the others scroll inside their box
 * rather than widening the page. Colours keep 4.5:1 contrast for text.
 */
export const STYLE = `
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#f6f8fa}
a{color:#0550ae}
header{background:#24292f;color:#fff}
header .in{max-width:72rem;margin:0 auto;padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:.25rem 1.25rem;align-items:center}
header a{color:#fff;text-decoration:none}
header a:hover,header a[aria-current]{text-decoration:underline}
header .brand{font-weight:700;margin-right:.5rem}
header nav{display:flex;gap:1rem;flex-wrap:wrap}
header .who{margin-left:auto;display:flex;gap:.75rem;align-items:center;flex-wrap:wrap;font-size:.875rem}
header .who button{color:#fff;background:transparent;border-color:#8c959f;min-height:2rem;padding:.15rem .6rem}
#live{color:#d0d7de}
.wrap{max-width:72rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.25rem 0 .75rem;overflow-wrap:anywhere}
h2{font-size:1.15rem;margin:0 0 .5rem}
h3{font-size:1rem;margin:.75rem 0 .25rem}
.card{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:1rem;margin:0 0 1rem;min-width:0}
.two{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,22rem),1fr));gap:0 1rem}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #d8dee4;vertical-align:top}
th{font-weight:600;font-size:.875rem;color:#424a53}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.id,code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.875em;overflow-wrap:anywhere}
.muted{color:#57606a}
.badge{display:inline-block;padding:0 .55rem;border-radius:1rem;font-size:.8125rem;font-weight:600;border:1px solid #8c959f;background:#f6f8fa;white-space:nowrap}
.s-running,.s-ready,.s-succeeded{border-color:#1a7f37;color:#116329;background:#dafbe1}
.s-paused,.s-awaitingApproval,.s-waiting,.s-processing{border-color:#9a6700;color:#7d4e00;background:#fff8c5}
.s-aborted,.s-failed{border-color:#cf222e;color:#a40e26;background:#ffebe9}
.s-draft,.s-pending,.s-canceled{color:#424a53}
.s-completed,.s-done{border-color:#0969da;color:#0550ae;background:#ddf4ff}
.flash{padding:.75rem 1rem;border-radius:6px;border:1px solid #1a7f37;background:#dafbe1;margin:0 0 1rem;overflow-wrap:anywhere}
.flash.error{border-color:#cf222e;background:#ffebe9;color:#82071e}
.reason{border-left:4px solid #9a6700;background:#fff8c5;padding:.5rem .75rem;margin:.5rem 0;overflow-wrap:anywhere}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,13rem),1fr));gap:.25rem 1rem;margin:.5rem 0}
.facts div{min-width:0;overflow-wrap:anywhere}
.facts dt{font-size:.8125rem;color:#57606a}
.facts dd{margin:0}
.stage{border-top:1px solid #d8dee4;padding-top:.75rem;margin-top:.75rem}
.stage:first-of-type{border-top:0;margin-top:0;padding-top:0}
.stage-head{display:flex;flex-wrap:wrap;gap:.25rem .75rem;align-items:baseline}
svg.bar{display:block;width:100%;height:1.25rem;margin:.4rem 0;border-radius:4px;background:#eaeef2}
svg.mini{height:.6rem;min-width:6rem}
.c-succeeded{fill:#1a7f37}.c-failed{fill:#cf222e}.c-inflight{fill:#0969da}.c-scheduled{fill:#8cc4ff}.c-pending{fill:#afb8c1}.c-canceled{fill:#6e7781}
.counts{display:grid;grid-template-columns:repeat(auto-fill,minmax(8.5rem,1fr));gap:.15rem 1rem;margin:.25rem 0;padding:0}
.counts div{display:flex;justify-content:space-between;gap:.5rem;border-bottom:1px dotted #d0d7de}
.counts dt{display:flex;align-items:center;gap:.35rem}
.counts dd{margin:0;font-variant-numeric:tabular-nums;font-weight:600}
.dot{display:inline-block;width:.7rem;height:.7rem;border-radius:2px}
.d-succeeded{background:#1a7f37}.d-failed{background:#cf222e}.d-inflight{background:#0969da}.d-scheduled{background:#8cc4ff}.d-pending{background:#afb8c1}.d-canceled{background:#6e7781}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-end;margin:.5rem 0 0}
.actions form{display:flex;flex-wrap:wrap;gap:.35rem;align-items:flex-end}
button{font:inherit;padding:.4rem .9rem;min-height:2.5rem;border-radius:6px;border:1px solid #57606a;background:#fff;color:#1f2328;cursor:pointer}
button:hover{background:#f3f4f6}
button.primary{background:#1a7f37;border-color:#1a7f37;color:#fff}
button.danger{border-color:#cf222e;color:#a40e26}
input{font:inherit;padding:.4rem .5rem;min-height:2.5rem;border:1px solid #8c959f;border-radius:6px;max-width:100%;min-width:0}
ul.actions{list-style:none;padding:0}
ul.actions li{display:flex;gap:.25rem;align-items:center}
fieldset{border:1px solid #d0d7de;border-radius:6px;margin:0 0 .75rem;padding:.5rem .75rem;display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-end;min-width:0}
legend{font-weight:600;padding:0 .25rem}
select,textarea{font:inherit;padding:.4rem .5rem;min-height:2.5rem;border:1px solid #8c959f;border-radius:6px;max-width:100%;background:#fff}
a.button{display:inline-block;padding:.4rem .9rem;border-radius:6px;border:1px solid #1a7f37;background:#1a7f37;color:#fff;text-decoration:none}
label{display:block;font-size:.875rem;color:#424a53}
.login{max-width:26rem;margin:2rem auto}
.login input{width:100%}
.tree,.tree ul{list-style:none;margin:0;padding-left:1rem}
.tree{padding-left:0}
.tree li{overflow-wrap:anywhere}
ol.history{margin:.25rem 0;padding-left:1.25rem}
pre.value{max-height:16rem;overflow:auto;white-space:pre-wrap;margin:0;font-size:.8125rem}
label.check{display:inline-flex;gap:.3rem;align-items:center;margin-right:.75rem}
.pager{display:flex;gap:1rem;align-items:center;flex-wrap:wrap;margin-top:.5rem}
:focus-visible{outline:3px solid #0969da;outline-offset:2px}
@media (max-width:40rem){
.wrap{padding:.75rem}.card{padding:.75rem}.wide{display:none}h1{font-size:1.25rem}
table.stack thead{display:none}
table.stack tr{display:block;padding:.5rem 0;border-bottom:1px solid #d8dee4}
table.stack td{display:flex;justify-content:space-between;align-items:center;gap:.75rem;border:0;padding:.1rem 0;text-align:right}
table.stack td:first-child{display:block;text-align:left}
table.stack td.wide{display:none}
table.stack td[data-label]::before{content:attr(data-label);color:#57606a;font-size:.875rem;font-weight:400;text-align:left}
table.stack td svg{flex:0 1 60%}
}
`;

/**
 * Live refresh: every 2.5 s the page asks the server for the current content of <main>
 * (x-fragment: 1) and swaps it in. It holds off while the tab is hidden and while a form
 * in <main> is in use (focused, or a field holds typed text), so nobody's click or reason
 * is swept away. An expired session (401) reloads into the login page. Without JS the
 * console is plain links and forms; it just does not move by itself. Forms with
 * data-confirm ask first (inline handlers would need 'unsafe-inline' under the CSP).
 */
export const LIVE_SCRIPT = `
(function () {
  var main = document.querySelector('main[data-live]');
  var status = document.getElementById('live');
  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) e.preventDefault();
  });
  if (!main) return;
  var src = main.getAttribute('data-src') || location.pathname + location.search;
  var last = null;
  function busy() {
    var active = document.activeElement;
    if (active && active !== document.body && main.contains(active) && active.closest('form')) return true;
    var fields = main.querySelectorAll('input:not([type=hidden]),textarea,select');
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if ('defaultValue' in f && f.value !== f.defaultValue) return true;
    }
    return false;
  }
  function say(text) { if (status) status.textContent = text; }
  function later() { setTimeout(tick, 2500); }
  function tick() {
    if (document.hidden || busy()) { say(document.hidden ? 'live' : 'live (paused while you type)'); later(); return; }
    fetch(src, { headers: { 'x-fragment': '1' }, credentials: 'same-origin', cache: 'no-store' }).then(function (res) {
      if (res.status === 401) { location.reload(); return; }
      if (!res.ok) { say('refresh failed (' + res.status + ')'); later(); return; }
      return res.text().then(function (html) {
        if (html !== last && !busy()) { main.innerHTML = html; last = html; }
        say('live, updated ' + new Date().toLocaleTimeString());
        later();
      });
    }).catch(function () { say('offline, retrying'); later(); });
  }
  say('live');
  later();
})();
`;
