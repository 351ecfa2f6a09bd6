/**
 * The option parser of every subcommand: node:util's tokenizer, with the
 * misuse reported as one line that names the option and says what it takes
 * ("--mtu needs a value: --mtu N"), instead of parseArgs' own multi-line
 * wording. A value that starts with '-' is taken when it is a number
 * (`--seed -1` reaches the option's own range check, as getopt would pass it).
 */
import { parseArgs } from 'node:util';
import { invokedAs } from './program.ts';
import { UsageError } from './usage.ts';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}
export type OptionSpecs = Record<string, OptionSpec>;

type ValueOf<S extends OptionSpec> = S['type'] extends 'boolean' ? boolean : S['multiple'] extends true ? string[] : string;
/** The parsed values of `T`: each option absent, or its value (a list for `multiple`). */
export type ValuesOf<T extends OptionSpecs> = { [K in keyof T]?: ValueOf<T[K]> };

export interface ParsedCommandLine<T extends OptionSpecs> {
  values: ValuesOf<T>;
  positionals: string[];
}

export interface CommandLineShape<T extends OptionSpecs> {
  /** The subcommand, for messages ("up", "scenario run"). */
  command: string;
  options: T;
  /** Whether positional arguments are allowed (their count is the command's to check). */
  positionals: boolean;
  /** The command's --help text: the place each option's value is named (`--mtu N`). */
  help: string;
}

/** The value name the help gives an option, e.g. "N" for `  --mtu N   interface MTU`. */
export function valueName(help: string, option: string): string | undefined {
  const escaped = option.replace(/[-]/g, '\\-');
  const m = new RegExp(`^ {2,}(?:-\\w, )?--${escaped} (\\S+(?: \\S+)*?)(?: {2,}|$)`, 'm').exec(help);
  // Else the usage line's `--sport PORT`.
  return m?.[1] ?? new RegExp(`--${escaped} ([A-Z][A-Z0-9_]*)\\b`).exec(help)?.[1];
}

/** Levenshtein distance, bounded use: option names are short. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The known names nearest to `name`: a small edit away, or one containing the other. */
export function nearNames(name: string, known: readonly string[], limit = 3): string[] {
  const close = known
    .map((k) => ({ k, d: distance(name, k) }))
    .filter(({ k, d }) => d <= Math.max(1, Math.floor(Math.min(name.length, k.length) / 3)) || (name.length >= 3 && (k.includes(name) || name.includes(k))))
    .sort((x, y) => x.d - y.d || x.k.localeCompare(y.k));
  return close.slice(0, limit).map(({ k }) => k);
}

function spelled(name: string, spec: OptionSpec, help: string): string {
  const value = spec.type === 'string' ? valueName(help, name) : undefined;
  return `${spec.short ? `-${spec.short}/` : ''}--${name}${value === undefined ? '' : ` ${value}`}`;
}

function unknownOption(shape: CommandLineShape<OptionSpecs>, raw: string): UsageError {
  const names = Object.keys(shape.options);
  const bare = raw.replace(/^-+/, '');
  const near = raw.startsWith('--') ? nearNames(bare, names) : [];
  const hint =
    near.length > 0
      ? `did you mean ${near.map((n) => `--${n}`).join(' or ')}?`
      : names.length <= 8
        ? `${shape.command} takes ${[...Object.entries(shape.options).map(([n, s]) => spelled(n, s, shape.help)), '-h/--help'].join(', ')}`
        : `the options: ${invokedAs()} ${shape.command} --help`;
  return new UsageError(`${shape.command}: unknown option ${raw} (${hint})`);
}

function needsValue(shape: CommandLineShape<OptionSpecs>, name: string, got?: string): UsageError {
  const what = valueName(shape.help, name);
  const usage = what === undefined ? '' : `: --${name} ${what}`;
  return new UsageError(`--${name} needs a value${usage}${got === undefined ? '' : `, got the option ${got}`}`);
}

/** A value that starts with '-' and is still a value: a negative number (refused later by the range check). */
const NEGATIVE_NUMBER = /^-\d/;

/** Parses `argv` for one subcommand; every misuse is a one-line UsageError naming the option. */
export function parseCommandLine<T extends OptionSpecs>(shape: CommandLineShape<T>, argv: string[]): ParsedCommandLine<T> {
  const { tokens } = parseArgs({ args: argv, options: shape.options, strict: false, allowPositionals: true, tokens: true });
  const values: Record<string, string | boolean | string[]> = {};
  const positionals: string[] = [];
  let negativeAt = -1;
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    // `-5` is a (negative) number where an argument stands, not the short options 5: PORT's check refuses it by name.
    if (token.kind === 'option' && token.index === negativeAt) continue;
    if (token.kind === 'option' && token.value === undefined && NEGATIVE_NUMBER.test(argv[token.index]!)) {
      negativeAt = token.index;
      if (!shape.positionals) throw new UsageError(`${shape.command} takes no arguments, got ${JSON.stringify(argv[token.index])} (the options: ${invokedAs()} ${shape.command} --help)`);
      positionals.push(argv[token.index]!);
      continue;
    }
    if (token.kind === 'positional') {
      if (!shape.positionals) throw new UsageError(`${shape.command} takes no arguments, got ${JSON.stringify(token.value)} (the options: ${invokedAs()} ${shape.command} --help)`);
      positionals.push(token.value);
      continue;
    }
    const spec = shape.options[token.name];
    if (spec === undefined) throw unknownOption(shape, token.rawName);
    if (spec.type === 'boolean') {
      if (token.value !== undefined) throw new UsageError(`--${token.name} takes no value, got ${JSON.stringify(token.value)}`);
      values[token.name] = true;
      continue;
    }
    const value = token.value;
    if (value === undefined) throw needsValue(shape, token.name);
    if (!token.inlineValue && value.startsWith('-') && !NEGATIVE_NUMBER.test(value)) throw needsValue(shape, token.name, value);
    if (spec.multiple) values[token.name] = [...((values[token.name] as string[] | undefined) ?? []), value];
    else values[token.name] = value;
  }
  return { values: values as ValuesOf<T>, positionals };
}
