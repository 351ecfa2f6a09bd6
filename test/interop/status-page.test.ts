/**
 * The live status page in a real browser: `tcpstack up` in a throw-away
 * namespace (10 ms of delay each way, a sysctl set, its own capture),
 * Debian's headless Chromium in the same namespace loading
 * http://198.18.0.2/ through the TUN, driven over the DevTools protocol
 * (test/helpers/chromium.ts). It checks that the page shows how the run
 * was started, that counters and their rates change through /events, that
 * a kernel client's connection through the echo service appears with its
 * histories, and that a click on it shows a time-sequence graph whose data
 * bars are the segments our stack really sent, as its capture has them,
 * then again after more data (the graph follows). A screenshot is kept as
 * the test's artefact; its path is printed. Chromium, the client, `up` and
 * the namespace go at the end, also on failure.
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPcapBuffer } from '../../cli/scenario/pcap-read.ts';
import { Browser, chromiumSkipReason, type Page } from '../helpers/chromium.ts';
import { LineClient, interopSkipReason, removeNetns, startCli, uniqueNetns } from '../helpers/interop.ts';

const skip = interopSkipReason(['ip', 'python3']) ?? chromiumSkipReason();
const interop = skip === undefined ? test.serial : test.skip;
if (skip !== undefined) console.log(`status page test skipped: ${skip}`);

const ADDR = '198.18.0.2';
const SYN = 0x02;
const FIN = 0x01;

/** A kernel client of the echo service: "send N" sends N bytes and prints "echoed N" once they are back. */
const CLIENT = `
import socket, sys
s = socket.create_connection(('${ADDR}', 7), timeout=20)
print('port', s.getsockname()[1], flush=True)
for line in sys.stdin:
    n = int(line.split()[1])
    s.sendall(bytes(i * 7 & 255 for i in range(n)))
    got = 0
    while got < n:
        got += len(s.recv(65536))
    print('echoed', got, flush=True)
`;

/** Our sequence ranges as the capture has them: [start, end) relative to our ISN (the SYN-ACK's), SYN and FIN counting one. */
function capturedRanges(pcap: string, port: number): string[] {
  const ours = readPcapBuffer(readFileSync(pcap)).filter((p) => p.src === ADDR && p.sport === 7 && p.dport === port);
  const isn = ours.find((p) => p.flags & SYN)!.seq;
  return ours
    .map((p) => ({ start: (p.seq - isn) >>> 0, span: p.len + (p.flags & SYN ? 1 : 0) + (p.flags & FIN ? 1 : 0) }))
    .filter((r) => r.span > 0)
    .map((r) => `${r.start}:${r.start + r.span}`);
}

/** The graph's data bars, in time order, as "start:end", from the marks' labels in the DOM. */
function graphRanges(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(`[...document.querySelectorAll('#graph-svg [aria-label]')]
    .map((e) => /^(?:new data|retransmission \\([a-z-]+\\)) (\\d+):(\\d+) at ([\\d.]+) s$/.exec(e.getAttribute('aria-label')))
    .filter((m) => m !== null)
    .sort((a, b) => Number(a[3]) - Number(b[3]))
    .map((m) => m[1] + ':' + m[2])`);
}

/** A counter's value and rate cells in the page's table, or null. */
function counterCells(page: Page, name: string): Promise<[string, string] | null> {
  return page.evaluate(`(() => { for (const tr of document.querySelectorAll('#counters tr')) { const td = tr.querySelectorAll('td'); if (td.length === 3 && td[0].textContent === ${JSON.stringify(name)}) return [td[1].textContent, td[2].textContent]; } return null; })()`);
}

interop('the status page in Chromium: the run at the top, counters and rates over /events, a connection with its histories, a click shows its graph with the segments the capture has', async (t) => {
  const netns = uniqueNetns('status');
  const artefacts = mkdtempSync(join(tmpdir(), 'tcpstack-status-page-'));
  const profile = mkdtempSync(join(tmpdir(), 'tcpstack-chromium-profile-'));
  const pcap = join(artefacts, 'run.pcap');
  const stack = startCli(['up', '--netns', netns, '--services', 'echo,http', '--delay', '10ms', '--seed', '42', '--sysctl', 'tcp_fin_timeout=30', '--pcap', pcap]);
  let browser: Browser | undefined;
  let client: LineClient | undefined;
  t.teardown(async () => {
    await browser?.close();
    client?.kill();
    await stack.stop('SIGTERM');
    removeNetns(netns);
    rmSync(profile, { recursive: true, force: true });
  });
  await stack.ready();
  browser = await Browser.launch(netns, profile);
  const page = await browser.newPage();
  await page.navigate(`http://${ADDR}/`);

  // The run, as up was started.
  const run = await page.evaluate<Record<string, string>>(`Object.fromEntries([...document.querySelectorAll('#run dt')].map((dt) => [dt.textContent, dt.nextElementSibling.textContent]))`);
  t.regex(run.command!, new RegExp(`up --netns ${netns} --services echo,http --delay 10ms --seed 42 --sysctl tcp_fin_timeout=30 --pcap \\S+run\\.pcap$`));
  t.is(run.sysctls, 'net.ipv4.tcp_fin_timeout=30');
  t.is(run.impairments, 'both: delay 10ms; seed 42');
  t.is(run.seed, '42');
  t.regex(run.run!, /\btun=tcp0\b.*\bmtu=1500 offload=off\b.*\bservices=echo:7,http:80$/);

  // Live: snapshots arrive, and a counter moves between two of them (the stream's own segments move TcpOutSegs).
  await page.waitFor('two snapshots', `Number(document.body.dataset.snapshots) >= 2`);
  const before = await counterCells(page, 'TcpOutSegs');
  const seen = Number(await page.evaluate<string>('document.body.dataset.snapshots'));
  await page.waitFor('two more snapshots', `Number(document.body.dataset.snapshots) >= ${seen + 2}`);
  const after = await counterCells(page, 'TcpOutSegs');
  t.truthy(before);
  t.truthy(after);
  t.true(Number(after![0]) > Number(before![0]), `TcpOutSegs ${before![0]} then ${after![0]}`);
  t.regex(after![1], /^\d+(\.\d+)?$/, 'a rate per second');
  t.true(Number(after![1]) > 0);
  t.regex(await page.evaluate<string>(`document.getElementById('status').textContent`), /^Live: snapshot \d+ at .*; recording the trace while this page is open\.$/);

  // A connection through the echo service, opened while the page looks.
  client = new LineClient(spawn('ip', ['netns', 'exec', netns, 'python3', '-u', '-c', CLIENT], { stdio: ['pipe', 'pipe', 'pipe'] }));
  const port = Number((await client.next('the client to connect')).split(' ')[1]);
  client.child.stdin!.write('send 20000\n');
  t.is(await client.next('the first echo'), 'echoed 20000');
  const row = `tr[data-conn="7-${port}"]`;
  await page.waitFor('the connection in the table', `document.querySelector('${row}')`);
  // Its histories: cwnd and srtt sparklines from the trace's samples (srtt some 20 ms through 10 ms each way).
  const sparks = await page.waitFor<string[]>(
    'its sparklines',
    `(() => { const s = [...document.querySelectorAll('${row} svg.spark')].map((e) => e.getAttribute('aria-label')); return s.length === 2 && s; })()`,
  );
  t.regex(sparks[0]!, /^cwnd \d+ \(\d+ points?, \d+ to \d+\)$/);
  const srtt = Number(/^srtt ms ([\d.]+) /.exec(sparks[1]!)?.[1]);
  t.true(srtt >= 19 && srtt < 200, `srtt ${srtt} ms`);

  // A click opens its graph; ours is the data drawn (the toggle if the page chose the peer's).
  await page.click(row);
  await page.waitFor('the graph', `document.querySelector('#graph-svg svg') !== null && document.getElementById('graph-svg').dataset.version`);
  if ((await page.evaluate<string>(`document.getElementById('graph-svg').dataset.dir`)) !== 'out') {
    await page.click('#graph-dir');
    await page.waitFor('our data', `document.getElementById('graph-svg').dataset.dir === 'out'`);
  }
  t.is(await page.evaluate<string>(`document.getElementById('graph-conn').textContent`), `7-${port}`);
  await page.waitFor('the graph to show every byte echoed', `document.querySelector('#graph-svg [aria-label^="new data"][aria-label*=":20001 at"]') !== null`);
  const first = await graphRanges(page);
  t.deepEqual(first, capturedRanges(pcap, port), 'the bars are the segments our stack sent, as captured');
  t.true(first.length >= 15, `the SYN-ACK and 20000 bytes in wire-sized segments: ${first.length} bars`);

  // More data: the graph is drawn again from the snapshots' versions.
  const version = Number(await page.evaluate<string>(`document.getElementById('graph-svg').dataset.version`));
  client.child.stdin!.write('send 30000\n');
  t.is(await client.next('the second echo'), 'echoed 30000');
  await page.waitFor('the graph to follow', `document.querySelector('#graph-svg [aria-label^="new data"][aria-label*=":50001 at"]') !== null`);
  t.true(Number(await page.evaluate<string>(`document.getElementById('graph-svg').dataset.version`)) > version);
  const second = await graphRanges(page);
  t.deepEqual(second, capturedRanges(pcap, port), 'again every segment, as captured');
  t.deepEqual(second.slice(0, first.length), first);

  const shot = join(artefacts, 'status-page.png');
  writeFileSync(shot, await page.screenshot());
  t.log(`screenshot: ${shot}`);
  console.log(`status page screenshot: ${shot}`);

  // Closing the browser ends the stream: nobody looks, and nothing of Chromium stays in the namespace.
  await browser.close();
  client.kill();
  const deadline = Date.now() + 10_000;
  let pids = '';
  do {
    await new Promise((resolve) => setTimeout(resolve, 100));
    pids = spawnSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' }).stdout.trim();
  } while (pids !== '' && Date.now() < deadline);
  t.is(pids, '', 'no process left in the namespace');
  const exited = await stack.stop('SIGTERM');
  t.is(exited.code, 0, exited.stderr);
});
