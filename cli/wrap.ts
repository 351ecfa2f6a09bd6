/** Help text layout shared by the subcommands. */

/**
 * Word-wraps `text` into lines that, once indented by `indent` columns, fit
 * in `width`; the lines are returned without the indent.
 */
export function wrapWords(text: string, indent: number, width = 80): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}
