// The status page, live (served as /live.js; plain browser JavaScript, no
// build step). Takes the /events snapshots (cli/services/status/snapshot.ts)
// and rewrites the tables the server first sent (page.ts); a click on a
// connection shows its time-sequence graph (/conn/ID/graph.svg, drawn by
// the server) under the table, fetched again when the snapshots say the
// connection's recording moved, one fetch at a time.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const head = (table) => table.querySelector('tr').outerHTML;
  const graph = { id: null, dir: null, shown: 0, wanted: 0, busy: false, last: 0 };
  // At most one graph a second: each is a drawing on the server and some 100s of KB.
  const GRAPH_EVERY_MS = 1000;
  let snapshots = 0;

  function rows(container, html) {
    const table = container.querySelector('table');
    table.innerHTML = head(table) + html;
  }

  function render(s) {
    $('n-listeners').textContent = s.listeners.length;
    rows($('listeners'), s.listeners.map((cells) => `<tr>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join(''));
    $('n-connections').textContent = s.connections.length;
    rows(
      $('connections'),
      s.connections
        .map((c) => {
          const cells = c.cells.map((x) => `<td>${esc(x)}</td>`).join('');
          const sel = c.id === graph.id ? ' class="selected"' : '';
          // The sparklines are the server's own SVG (numbers only).
          return `<tr data-conn="${esc(c.id)}"${sel}>${cells}<td>${c.sparks[0]}</td><td>${c.sparks[1]}</td><td><a href="/conn/${encodeURIComponent(c.id)}">graph</a></td></tr>`;
        })
        .join(''),
    );
    $('n-counters').textContent = s.counters.length;
    rows($('counters'), s.counters.map(([name, value, rate]) => `<tr><td>${esc(name)}</td><td>${value}</td><td>${rate === null ? '-' : esc(formatRate(rate))}</td></tr>`).join(''));
    snapshots++;
    document.body.dataset.snapshots = String(snapshots);
    const time = new Date(s.t).toLocaleTimeString();
    $('status').textContent = `Live: snapshot ${s.seq} at ${time}${s.interval === null ? '' : `, rates per second over the last ${s.interval.toFixed(1)} s`}; ${s.recording ? 'recording the trace while this page is open' : 'no trace recorded'}.`;
    if (graph.id !== null) {
      const c = s.connections.find((x) => x.id === graph.id);
      if (c !== undefined && c.graph > graph.shown) {
        graph.wanted = c.graph;
        load();
      }
    }
  }

  // As tables.ts formatRate.
  function formatRate(rate) {
    return Math.abs(rate) >= 100 ? String(Math.round(rate)) : String(Number(rate.toFixed(2)));
  }

  async function load() {
    if (graph.busy || graph.id === null) return;
    const wait = graph.last + GRAPH_EVERY_MS - Date.now();
    if (wait > 0) {
      graph.busy = true;
      setTimeout(() => {
        graph.busy = false;
        load();
      }, wait);
      return;
    }
    graph.busy = true;
    graph.last = Date.now();
    const id = graph.id;
    try {
      const res = await fetch(`/conn/${encodeURIComponent(id)}/graph.svg${graph.dir ? `?dir=${graph.dir}` : ''}`, { cache: 'no-store' });
      if (id !== graph.id) return;
      const box = $('graph-svg');
      if (res.ok) {
        box.innerHTML = await res.text();
        graph.shown = Number(res.headers.get('x-graph-version') ?? '0');
        graph.dir = res.headers.get('x-graph-dir');
        box.dataset.version = String(graph.shown);
        box.dataset.dir = graph.dir ?? '';
        $('graph-dir').textContent = graph.dir === 'out' ? "show the peer's data" : 'show our data';
      } else if (graph.shown === 0) {
        box.textContent = (await res.text()).trim();
      }
    } catch {
      // The stream's next snapshot asks again.
    } finally {
      graph.busy = false;
    }
    // Snapshots that came while this one was drawn may have asked for more.
    if (id === graph.id && graph.wanted > graph.shown) setTimeout(load, 250);
  }

  function open(id) {
    graph.id = id;
    graph.dir = null;
    graph.shown = 0;
    graph.wanted = 0;
    graph.last = 0;
    $('graph-conn').textContent = id;
    $('graph-svg').innerHTML = '';
    $('graph').hidden = false;
    for (const tr of document.querySelectorAll('tr[data-conn]')) tr.classList.toggle('selected', tr.dataset.conn === id);
    load();
  }

  $('connections').addEventListener('click', (event) => {
    const tr = event.target.closest('tr[data-conn]');
    if (tr === null) return;
    event.preventDefault();
    open(tr.dataset.conn);
  });
  $('graph-dir').addEventListener('click', (event) => {
    event.preventDefault();
    graph.dir = graph.dir === 'out' ? 'in' : 'out';
    graph.shown = 0;
    load();
  });
  $('graph-close').addEventListener('click', (event) => {
    event.preventDefault();
    graph.id = null;
    $('graph').hidden = true;
    for (const tr of document.querySelectorAll('tr.selected')) tr.classList.remove('selected');
  });

  const events = new EventSource('/events');
  events.onmessage = (m) => render(JSON.parse(m.data));
  events.onerror = () => {
    $('status').textContent = 'Disconnected from /events; retrying.';
  };
})();
