/**
 * The console page noVNC's own vnc_lite.html is to Nova: the npm package ships noVNC's
 * library (core/, vendor/) but no page, so this is Kumo's. It reads the parameters
 * vnc_lite.html reads (`path`, `host`, `port`, `password`, `view_only`, `scale`), connects to
 * the websocket `path` names on the page's own host and port unless told otherwise, and
 * offers Ctrl-Alt-Del.
 */
export const VNC_PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Kumo console (noVNC)</title>
<style>
  html, body { margin: 0; height: 100%; }
  body { display: flex; flex-direction: column; background: #282828; color: #eee; font: 14px sans-serif; }
  #bar { display: flex; align-items: center; gap: 1em; padding: 4px 8px; background: #3a3a3a; }
  #status { flex: 1; }
  #screen { flex: 1; overflow: hidden; }
</style>
</head>
<body>
<div id="bar"><span id="status">Loading noVNC...</span><button id="cad" type="button" disabled>Send Ctrl-Alt-Del</button></div>
<div id="screen"></div>
<script type="module">
import RFB from './core/rfb.js';

const query = new URLSearchParams(window.location.search);
const setting = (name, fallback) => query.get(name) ?? fallback;
const statusLine = document.getElementById('status');
const cad = document.getElementById('cad');
const show = (text) => { statusLine.textContent = text; };

const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
const host = setting('host', window.location.hostname);
const port = setting('port', window.location.port);
const path = setting('path', 'websockify').replace(/^\\/+/, '');
const url = scheme + '://' + host + (port ? ':' + port : '') + '/' + path;

let desktop = 'the console';
show('Connecting...');
const rfb = new RFB(document.getElementById('screen'), url, { credentials: { password: setting('password', '') } });
rfb.viewOnly = setting('view_only', 'false') === 'true';
rfb.scaleViewport = setting('scale', 'true') === 'true';
rfb.addEventListener('connect', () => { show('Connected to ' + desktop); cad.disabled = false; });
rfb.addEventListener('disconnect', (event) => {
  show(event.detail.clean ? 'Disconnected' : 'The connection closed unexpectedly (the URL may have expired: ask for a new one)');
  cad.disabled = true;
});
rfb.addEventListener('credentialsrequired', () => rfb.sendCredentials({ password: window.prompt('Password required:') ?? '' }));
rfb.addEventListener('desktopname', (event) => {
  desktop = event.detail.name;
  document.title = desktop + ' - Kumo console';
});
cad.addEventListener('click', () => rfb.sendCtrlAltDel());
</script>
</body>
</html>
`;
