/**
 * stack/ is sans-I/O: it never reads the host's clock, schedules host timers,
 * draws host randomness or touches the process. Time, randomness and the link
 * are injected (Clock, Random, PacketSink), which is what lets the same stack
 * run in real time over a TUN device and in virtual time, repeatably, in tests
 * and packet scripts. .dependency-cruiser.cjs keeps Node's modules out of
 * stack/; this test catches the globals an import check cannot see.
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const STACK = join(ROOT, 'stack');

/** What stack/ must not use, each with the reason a reader gets. */
const FORBIDDEN: ReadonlyArray<{ pattern: RegExp; why: string }> = [
  { pattern: /\b(setTimeout|setInterval|setImmediate|queueMicrotask)\b/, why: 'host scheduling: arm a Timer on the TimerQueue; the driver runs it' },
  { pattern: /(?<![\w$.])process\s*\./, why: 'the host process: stack/ gets what it needs through its options' },
  { pattern: /(?<![\w$.])Date\s*[.(]|\bnew\s+Date\b/, why: 'the wall clock: use the injected Clock' },
  { pattern: /\bMath\s*\.\s*random\b/, why: 'host randomness: use the injected Random' },
  { pattern: /(?<![\w$.])performance\s*\./, why: 'the host clock: use the injected Clock' },
  { pattern: /(?<![\w$.])require\s*\(/, why: 'a CommonJS load: stack/ imports only its own modules' },
  { pattern: /\bfrom\s*['"]node:|\bimport\s*\(?\s*['"]node:/, why: "a Node module: stack/ runs without Node's" },
];

/**
 * The source with every comment removed: `//` comments are cut to the end of
 * the line, `/* *\/` comments become spaces with their newlines kept, so line
 * numbers still match the file. String and template literals are skipped over
 * whole (a `//` inside 'http://...' starts no comment), and code inside `${ }`
 * is scanned as code.
 */
function stripComments(source: string): string {
  let out = '';
  let i = 0;
  const n = source.length;
  /** Brace depth at which each open `${` of a template literal started. */
  const substitutions: number[] = [];
  let depth = 0;

  /** Copies a template literal's text from i (just after ` or }) up to and including the closing ` or the `${`. */
  const templateText = (): void => {
    while (i < n) {
      const c = source[i]!;
      if (c === '\\') {
        out += source.slice(i, i + 2);
        i += 2;
      } else if (c === '`') {
        out += c;
        i++;
        return;
      } else if (c === '$' && source[i + 1] === '{') {
        out += '${';
        i += 2;
        substitutions.push(depth);
        depth++;
        return;
      } else {
        out += c;
        i++;
      }
    }
  };

  while (i < n) {
    const c = source[i]!;
    const next = source[i + 1];
    if (c === '/' && next === '/') {
      while (i < n && source[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      const stop = end === -1 ? n : end + 2;
      out += source.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < n && source[j] !== c && source[j] !== '\n') j += source[j] === '\\' ? 2 : 1;
      out += source.slice(i, j + 1);
      i = j + 1;
    } else if (c === '`') {
      out += c;
      i++;
      templateText();
    } else if (c === '{') {
      depth++;
      out += c;
      i++;
    } else if (c === '}') {
      depth--;
      out += c;
      i++;
      if (substitutions.length > 0 && substitutions[substitutions.length - 1] === depth) {
        substitutions.pop();
        templateText();
      }
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

interface Finding {
  line: number;
  match: string;
  why: string;
  text: string;
}

/** Every forbidden use in `source`, comments excluded, with its 1-based line. */
function findHostUses(source: string): Finding[] {
  const findings: Finding[] = [];
  const original = source.split('\n');
  stripComments(source)
    .split('\n')
    .forEach((code, index) => {
      for (const { pattern, why } of FORBIDDEN) {
        const m = pattern.exec(code);
        if (m) findings.push({ line: index + 1, match: m[0], why, text: original[index]!.trim() });
      }
    });
  return findings;
}

function tsFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

test('the matcher flags a host call and ignores the same words in comments', (t) => {
  const sample = [
    'const a = 1;',
    'setTimeout(() => tick(), 10); // setTimeout( in a trailing comment',
    '// setTimeout(() => {}, 1);',
    '/* setTimeout(',
    '   Date.now() */ const url = "http://example";',
    'const b = Date.now();',
  ].join('\n');
  const found = findHostUses(sample).map((f) => `${f.line}:${f.match}`);
  t.deepEqual(found, ['2:setTimeout', '6:Date.']);
  t.deepEqual(findHostUses('// setTimeout( queueMicrotask( process.exit() Math.random()'), []);
  t.deepEqual(findHostUses('/* new Date()\n performance.now() */'), []);
});

test('the matcher sees every forbidden use, and not look-alikes', (t) => {
  const uses = [
    'setInterval(f, 1)',
    'setImmediate(f)',
    'queueMicrotask(f)',
    'process.nextTick(f)',
    'const t = new Date()',
    'Date.now()',
    'Math.random()',
    'performance.now()',
    "const fs = require('fs')",
    "import { readFileSync } from 'node:fs';",
    "import type { EventEmitter } from 'node:events';",
    "export { constants } from 'node:os';",
    "const m = await import('node:crypto');",
  ];
  for (const use of uses) t.is(findHostUses(use).length, 1, use);
  const lookAlikes = [
    'this.process.run()',
    'segment.process(x)',
    'const updatedAt = 1;',
    'clock.now()',
    'random.u32()',
    "import { Clock } from './clock.ts';",
    'const s = `${a /* } setTimeout( */}`;',
    "const url = 'http://x'; const y = 2;",
  ];
  for (const text of lookAlikes) t.deepEqual(findHostUses(text), [], text);
  // Code inside a template substitution is code; the template's text is not a comment.
  t.is(findHostUses('const s = `// ${Date.now()}`;').length, 1);
  // Line numbers survive a block comment spanning lines.
  t.deepEqual(
    findHostUses('/*\n\n*/\nqueueMicrotask(f);').map((f) => f.line),
    [4],
  );
});

test('nothing under stack/ uses the host clock, timers, randomness, process or Node modules', (t) => {
  const files = tsFilesUnder(STACK);
  t.true(files.length > 10, `expected the stack's sources under ${STACK}`);
  const problems: string[] = [];
  for (const file of files) {
    for (const f of findHostUses(readFileSync(file, 'utf8'))) {
      problems.push(`${relative(ROOT, file)}:${f.line}: ${f.match.trim()} (${f.why}): ${f.text}`);
    }
  }
  t.deepEqual(problems, [], `stack/ must stay sans-I/O:\n${problems.join('\n')}`);
});
