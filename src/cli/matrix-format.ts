/**
 * The matrix as a regulator publishes it: Markdown for a repository, one self-contained HTML page (no
 * external assets, printable) for a web site. Every character outside printable ASCII is written as an
 * HTML character reference, so the text survives the CLI's printable output and any page encoding.
 */
import { relative, isAbsolute } from 'node:path';
import type { Matrix, MatrixRow, MatrixRule, MatrixWaiver } from '../profile/matrix.js';
import type { VectorRef } from '../profile/vectors.js';
import { showValue } from './output.js';

const reference = (c: string) => `&#${c.charCodeAt(0)};`;

/**
 * Characters that would break the markup, control characters and everything outside printable ASCII
 * as character references; the § of clause references stays as it is (the CLI prints it).
 */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"'\u0000-\u001f\u007f-\u00a6\u00a8-\uffff]/g, reference);
}

/** The same for a Markdown table cell, where | ` and \\ also have a meaning. */
function escapeMarkdown(text: string): string {
  return escapeHtml(text).replace(/[|`\\]/g, reference);
}

/** A vector by where it is written: a path relative to the working directory when it lies beneath it. */
function vectorPlace(v: VectorRef, cwd = process.cwd()): string {
  const rel = relative(cwd, v.file);
  const file = rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : v.file.split(/[\\/]/).pop();
  return `${file}:${v.line}`;
}

function ruleLine(r: MatrixRule): string {
  return `${r.id} (${r.severity}; ${r.stages.join(', ')})`;
}

function settingsOf(r: MatrixRule): string {
  return r.settings.map((s) => `${s.setting} = ${showValue(s.value)}`).join('; ');
}

function waiverText(w: MatrixWaiver): string {
  const what = w.rule ? `rule ${w.rule}` : `settings.${w.setting}${'from' in w ? `: ${showValue(w.from)} -> ${showValue(w.to)}` : ''}`;
  return `waived by ${w.by} (${what}): ${w.reason}`;
}

function statusText(row: MatrixRow): string {
  return { enforced: 'enforced', waived: 'waived', unobservable: 'unobservable' }[row.status];
}

function notes(row: MatrixRow): string[] {
  if (row.status === 'unobservable') return [`not observable: ${row.unobservable ?? ''}`];
  return [...row.rules.filter((r) => r.waived).map((r) => `${r.id} ${waiverText(r.waived as MatrixWaiver)}`), ...row.waivers.map(waiverText)];
}

const title = (m: Matrix) => `Compliance matrix: ${m.profile.title} (${m.profile.id} ${m.profile.version})`;

function summaryLine(m: Matrix): string {
  const s = m.summary;
  return `${s.clauses} clauses: ${s.enforced} enforced by ${s.rules} rules, ${s.waived} waived, ${s.unobservable} written down as unobservable; ${s.vectors} test vectors.`;
}

export function matrixMarkdown(m: Matrix): string {
  // Line breaks inside a cell (joined with \n below) become <br>; everything else is escaped.
  const cell = (t: string) => escapeMarkdown(t).replace(/&#10;/g, '<br>');
  const lines = [`# ${cell(title(m))}`, '', `Digest \`${m.profile.digest}\`. ${cell(summaryLine(m))}`, ''];
  lines.push('Documents (farthest base first):', '');
  for (const d of m.documents) lines.push(`- **${cell(d.id)}** ${cell(d.version)}: ${cell(d.title)}, ${cell(d.spec)}${d.extends ? `, extends ${cell(d.extends)}` : ''}`);
  for (const d of m.documents) {
    lines.push('', `## ${cell(d.id)}: ${cell(d.title)}`, '', '| clause | status | rules | settings read | vectors (pass / fail) | waivers and notes |', '|---|---|---|---|---|---|');
    for (const row of m.rows.filter((r) => r.document === d.id)) {
      const vectors = row.rules.map((r) => `${r.passing.length} / ${r.failing.length}${r.covered_by ? ` (from ${r.covered_by})` : ''}`).join('\n');
      lines.push(`| ${[row.clause, statusText(row), row.rules.map(ruleLine).join('\n'), row.rules.map(settingsOf).filter(Boolean).join('\n'), vectors, notes(row).join('\n')]
        .map(cell).join(' | ')} |`);
    }
  }
  if (m.waivers.length) {
    lines.push('', '## Waivers', '');
    for (const w of m.waivers) lines.push(`- ${cell(waiverText(w))}`);
  }
  return lines.join('\n');
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#111}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;page-break-after:avoid}
table{border-collapse:collapse;width:100%;margin:.5em 0}
th,td{border:1px solid #999;padding:.3em .5em;vertical-align:top;text-align:left}
th{background:#eee}tr{page-break-inside:avoid}
tr.waived td{background:#fff4e0}tr.unobservable td{background:#f3f3f3;color:#333}
code{font-size:.9em}ul{margin:0;padding-left:1.2em}p{margin:.2em 0}
@media print{body{margin:0;font-size:9px}}
`;

export function matrixHtml(m: Matrix): string {
  const h = escapeHtml;
  const list = (items: string[]) => (items.length ? `<ul>${items.map((i) => `<li>${i}</li>`).join('')}</ul>` : '');
  // Failing vectors are listed (they show the rule refusing); of the passing ones, the count and the first.
  const vectors = (r: MatrixRule) => {
    const place = (v: VectorRef) => `${h(v.name)} <code>${h(vectorPlace(v))}</code>`;
    const first = r.passing[0];
    const passing = `${r.passing.length} passing${first ? `, e.g. ${place(first)}` : ''}`;
    const from = r.covered_by ? ` (vectors of ${h(r.covered_by)})` : '';
    return `<p><code>${h(r.id)}</code>${from}: ${passing}; ${r.failing.length} failing</p>${list(r.failing.map(place))}`;
  };
  const row = (r: MatrixRow) => `<tr class="${r.status}" data-clause="${h(r.clause)}" data-document="${h(r.document)}" data-status="${r.status}">`
    + `<td>${h(r.clause)}${r.line ? ` <small>(header line ${r.line})</small>` : ''}</td><td>${statusText(r)}</td>`
    + `<td>${list(r.rules.map((x) => `<code>${h(x.id)}</code> ${h(x.severity)}, ${h(x.stages.join(', '))}`))}</td>`
    + `<td>${list(r.rules.flatMap((x) => x.settings.map((s) => `<code>${h(s.setting)}</code> = ${h(showValue(s.value))}`)))}</td>`
    + `<td>${r.rules.map(vectors).join('')}</td><td>${list(notes(r).map(h))}</td></tr>`;
  const sections = m.documents.map((d) => `<section data-document="${h(d.id)}"><h2>${h(d.id)} ${h(d.version)}: ${h(d.title)}</h2>`
    + `<p>Specification: ${h(d.spec)}${d.extends ? `; extends ${h(d.extends)}` : ''}; digest <code>${h(d.digest)}</code></p>`
    + `<table><thead><tr><th>clause</th><th>status</th><th>rules</th><th>settings read</th><th>test vectors</th><th>waivers and notes</th></tr></thead><tbody>`
    + m.rows.filter((r) => r.document === d.id).map(row).join('\n') + '</tbody></table></section>');
  const waivers = m.waivers.length ? `<section id="waivers"><h2>Waivers</h2>${list(m.waivers.map((w) => h(waiverText(w))))}</section>` : '';
  return ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
    `<title>${h(title(m))}</title><style>${STYLE}</style></head><body>`,
    `<h1>${h(title(m))}</h1><p>Digest <code>${h(m.profile.digest)}</code>. ${h(summaryLine(m))}</p>`,
    ...sections, waivers, '</body></html>'].join('\n');
}
