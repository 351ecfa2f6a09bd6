/**
 * The repository stands alone: someone who clones it can follow every
 * reference in it. No file tracked by git may send the reader to documents
 * kept outside the repository (a directory beside the clone, the notes the
 * stack was first written from), to tickets of a tracker the clone does not
 * carry, or to the private row codes and list numbers of those notes.
 * Instead a reference names what it meant: the kernel function
 * (tcp_v4_send_reset, __tcp_close, ...), the RFC section, a packet script
 * under test/scripts/, a differential scenario, or a section of docs/. And
 * every docs/ page and section that is cited must exist.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { lstatSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Not scanned: package-lock.json (generated; its integrity hashes are
 * base64). Binary files are skipped where they are read. This file is
 * scanned too: the names it looks for are put together from pieces, so that
 * it does not contain them itself.
 */
const NOT_SCANNED = new Set(['package-lock.json']);

/** The outside names, assembled at run time (see NOT_SCANNED). */
const DIR = ['sha', 'red/'].join('');
const NOTES = ['linux', 'tcp', 'paths'].join('-');
const WIRE = ['linux', 'wire', 'reference'].join('-');
const TICKET = ['iss', 'ue'].join('');
const LIST = ['check', 'list'].join('');
const TEST = ['te', 'st'].join('');
/** A row code or a generator name of those notes, e.g. code('A', '1'). */
const code = (letter: string, rest: string): string => `${letter}${rest}`;

/** What no tracked file may contain, each with what to write instead. */
const RULES: ReadonlyArray<{ name: string; pattern: RegExp; why: string }> = [
  { name: 'outside directory', pattern: new RegExp(`\\b${DIR}`), why: 'a directory outside the repository' },
  { name: 'outside notes', pattern: new RegExp(NOTES, 'i'), why: 'notes outside the repository: cite docs/linux-behaviour.md or the kernel function' },
  {
    name: 'outside measurements',
    pattern: new RegExp(`${WIRE}|\\bwire[- ]reference\\b`, 'i'),
    why: 'measurements outside the repository: say where it was measured here (a packet script, a differential scenario, docs/)',
  },
  { name: 'ticket number', pattern: new RegExp(`\\b${TICKET}s? #?\\d+`, 'i'), why: 'a ticket of a tracker the clone does not carry: say what it was about' },
  { name: 'outside list', pattern: new RegExp(`\\b${LIST}\\b`, 'i'), why: 'a list outside the repository: name the behaviour' },
  {
    // A capital A to G, a digit 1-9, maybe more digits and dotted parts,
    // standing alone as a word. Hex (0xA1B2), IPv4, E2E or SG2 do not stand
    // alone and do not match.
    name: 'row code',
    pattern: /\b[A-G][1-9]\d*(?:\.\d+)*\b/,
    why: 'a row code of notes outside the repository: name the behaviour and the kernel function',
  },
  {
    name: 'generator name',
    pattern: /\bR[12]\b/,
    why: 'a private name of a reset generator: the reply reset (tcp_v4_send_reset) or the active reset (tcp_send_active_reset)',
  },
  {
    name: 'numbered test title',
    pattern: /\btest(?:\.\w+)*\(\s*['"`]paths? \d/,
    why: "a test title numbered after a tracker's list of paths: name the behaviour",
  },
];

/**
 * Text that matches a rule but is not a reference, each with the reason.
 * Keep this empty unless a legitimate name collides with a rule: entries are
 * exact lines of exact files.
 */
const ALLOWED: ReadonlyArray<{ file: string; text: string; why: string }> = [];

/** The names of the rules `line` breaks, in RULES order. */
function offences(line: string): string[] {
  return RULES.filter((r) => r.pattern.test(line)).map((r) => r.name);
}

function trackedFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  return out.split('\0').filter((f) => f !== '');
}

/** The file's text, or undefined for a binary file, a symlink or a file deleted from the work tree. */
function readText(file: string): string | undefined {
  const path = join(ROOT, file);
  try {
    if (!lstatSync(path).isFile()) return undefined;
  } catch {
    return undefined;
  }
  const bytes = readFileSync(path);
  if (bytes.subarray(0, 8000).includes(0)) return undefined;
  return bytes.toString('utf8');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, each space a hyphen. */
function slug(heading: string): string {
  const text = heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

/** Every anchor of a markdown page: its headings outside code fences, repeats numbered -1, -2, ... */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split(/\r?\n/)) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** The docs pages a line cites: a docs/ path to a markdown page, with or without an anchor, anywhere; relative `](PAGE.md#anchor)` links in markdown. */
function citedPages(file: string, line: string): Array<{ page: string; anchor: string | undefined; text: string }> {
  const cited = new Map<string, { page: string; anchor: string | undefined; text: string }>();
  const add = (page: string, anchor: string | undefined, text: string): void => {
    cited.set(`${page}#${anchor ?? ''}`, { page, anchor, text });
  };
  for (const m of line.matchAll(/(?<![\w./-])docs\/([\w.-]+\.md)(?:#([\w-]+))?/g)) add(`docs/${m[1]}`, m[2], m[0]);
  if (file.endsWith('.md')) {
    for (const m of line.matchAll(/\]\(([^)#\s]*\.md)?(?:#([^)\s]+))?\)/g)) {
      const [text, target, anchor] = m;
      if (target === undefined && anchor === undefined) continue;
      if (target !== undefined && /^[a-z]+:/i.test(target)) continue;
      add(target === undefined ? file : normalize(join(dirname(file), target)), anchor, text);
    }
  }
  return [...cited.values()];
}

test('the matcher flags references to outside documents, issue numbers and row codes', (t) => {
  const flagged: Array<[string, string[]]> = [
    [`see ${NOTES}.md ${code('A', '1')}`, ['outside notes', 'row code']],
    [`${TICKET} 4, path 6`, ['ticket number']],
    [` * ${TICKET.toUpperCase()} 4, path 12: the accept queue overflows.`, ['ticket number']],
    [`(${TICKET} 5 builds on it)`, ['ticket number']],
    [`fixed in ${TICKET}s #12 and #13`, ['ticket number']],
    [`fresh namespace (../${DIR}docs/${NOTES}.md, "Defaults")`, ['outside directory', 'outside notes']],
    [`call by call: ../${DIR}docs/${WIRE}.md`, ['outside directory', 'outside measurements']],
    [`the ${WIRE.split('-').slice(1).join(' ')}'s scenario 5`, ['outside measurements']],
    [`${LIST} rows 9, 10, 11`, ['outside list']],
    [`path: '${code('C', '1')}, ${code('C', '2')}; ${LIST} 9, 10, 11',`, ['outside list', 'row code']],
    [`${code('D', '2.3')} (SYN_SENT gets an acceptable RST)`, ['row code']],
    [`${code('A', '2.1')} / ${code('E', '10')} / ${code('G', '1')}-${code('G', '5')}`, ['row code']],
    [`(${code('E', '5')}, tcp_rcv_state_process)`, ['row code']],
    [`the late SYN-ACK meets ${code('R', '1')} \`RST\` seq=SEG.ACK`, ['generator name']],
    [`what ${code('R', '2')} needs`, ['generator name']],
    [`${TEST}('path 8: tcp_fin_timeout=3: ...', (t) => {`, ['numbered test title']],
    [`  ${TEST}(\`path 12, client side: ...\`, (t) => {`, ['numbered test title']],
  ];
  for (const [line, rules] of flagged) t.deepEqual(offences(line), rules, line);
});

test('the matcher passes clean text and look-alikes', (t) => {
  const clean = [
    'the reply reset (tcp_v4_send_reset): RST seq = SEG.ACK; docs/linux-behaviour.md#7-keepalive',
    "generator: 'reply' | 'active'; __tcp_close → tcp_send_active_reset",
    'IPv4 header, 0xA1B2, 0xE1, x86_64, E2E, SG2, AG1x, SHA-256, UTF-8',
    'RFC 1122 §4.2.2.13, RFC 5961 §3.2, tcp_retries2=15, TCP_RTO_MIN, F_OK, B_TRUE',
    `a ${DIR.slice(0, -1)} buffer, ${DIR.slice(0, -1)} memory, re${TICKET} 4 times, the ${TICKET}s were fixed`,
    "test('FIN_WAIT2 timeout: tcp_fin_timeout=3: just before expiry ...', (t) => {",
    "test('a lost path 8 packet is not a title prefix')",
    'the no-socket case of path 1 would answer',
    '',
  ];
  for (const line of clean) t.deepEqual(offences(line), [], line);
});

test('anchors are GitHub’s, and cited pages are found', (t) => {
  const page = ['# Title', '## The paths', '### 7. Keepalive', '### 4. SO_LINGER 0', '```', '## not a heading', '```', '## The paths', '#kernel'].join('\n');
  t.deepEqual([...anchorsOf(page)], ['title', 'the-paths', '7-keepalive', '4-so_linger-0', 'the-paths-1']);
  t.is(slug('10. RST, SYN and challenge ACKs (RFC 5961)'), '10-rst-syn-and-challenge-acks-rfc-5961');
  t.is(slug('TCP against the kernel: `make bench`'), 'tcp-against-the-kernel-make-bench');
  t.deepEqual(
    citedPages('cli/x.ts', "docs: ['docs/linux-behaviour.md#7-keepalive'], see docs/cli.md.").map((c) => [c.page, c.anchor]),
    [
      ['docs/linux-behaviour.md', '7-keepalive'],
      ['docs/cli.md', undefined],
    ],
  );
  t.deepEqual(
    citedPages('docs/cli.md', 'see [x](differential-harness.md#results), [y](#running-it), [z](../README.md), [w](https://e.org/a.md#b)').map((c) => [c.page, c.anchor]),
    [
      ['docs/differential-harness.md', 'results'],
      ['docs/cli.md', 'running-it'],
      ['README.md', undefined],
    ],
  );
});

test('no tracked file refers to documents, issues or row codes outside the repository', (t) => {
  const files = trackedFiles();
  t.true(files.length > 100, `expected the repository's files from git ls-files in ${ROOT}`);
  const problems: string[] = [];
  let scanned = 0;
  for (const file of files) {
    if (NOT_SCANNED.has(file)) continue;
    const text = readText(file);
    if (text === undefined) continue;
    scanned++;
    text.split(/\r?\n/).forEach((line, index) => {
      const names = offences(line);
      if (names.length === 0) return;
      if (ALLOWED.some((a) => a.file === file && line.includes(a.text))) return;
      const why = RULES.filter((r) => names.includes(r.name)).map((r) => `${r.name}: ${r.why}`);
      problems.push(`${file}:${index + 1}: ${line.trim()}\n    ${why.join('\n    ')}`);
    });
  }
  t.true(scanned > 100, `scanned ${scanned} files`);
  t.deepEqual(problems, [], `the repository must stand alone:\n${problems.join('\n')}`);
});

test('every docs/ page and section cited in a tracked file exists', (t) => {
  const files = trackedFiles();
  const tracked = new Set(files);
  const anchors = new Map<string, Set<string>>();
  const anchorsOfPage = (page: string): Set<string> => {
    let a = anchors.get(page);
    if (a === undefined) {
      a = anchorsOf(readText(page) ?? '');
      anchors.set(page, a);
    }
    return a;
  };
  const problems: string[] = [];
  let cited = 0;
  for (const file of files) {
    if (NOT_SCANNED.has(file)) continue;
    const text = readText(file);
    if (text === undefined) continue;
    text.split(/\r?\n/).forEach((line, index) => {
      for (const c of citedPages(file, line)) {
        cited++;
        if (!tracked.has(c.page)) problems.push(`${file}:${index + 1}: ${c.text}: ${c.page} is not in the repository`);
        else if (c.anchor !== undefined && !anchorsOfPage(c.page).has(c.anchor)) {
          problems.push(`${file}:${index + 1}: ${c.text}: ${c.page} has no section #${c.anchor}`);
        }
      }
    });
  }
  t.true(cited > 0, 'expected citations of docs/ pages');
  t.deepEqual(problems, [], `cited docs/ pages and sections that do not exist:\n${problems.join('\n')}`);
});
