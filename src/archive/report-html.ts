import path from 'node:path';
import type { MatchPolicy, PersonScore } from '../core/index.ts';
import type { ArchiveReport, FaceDecision, PhotoOutcome } from './report.ts';

/** The report's file name inside the output folder. */
export const REPORT_NAME = 'report.html';

const REASONS: Readonly<Record<string, string>> = {
  'no-one-enrolled': 'nobody known yet',
  'below-threshold': 'below the threshold',
  ambiguous: 'too close to call between two people',
  'person-already-in-photo': 'that person is already named in this photo',
  'too-small': 'too small to compare',
  'low-confidence': 'the detector is unsure it is a face',
};

const STYLE = `
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1100px;padding:1rem;color:#222;background:#fafafa}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.grid{display:flex;flex-wrap:wrap;gap:.6rem;list-style:none;padding:0}
.grid li{width:150px;background:#fff;border:1px solid #e2e2e2;border-radius:6px;overflow:hidden;font-size:12px}
.grid img{display:block;width:150px;height:150px;object-fit:cover;background:#eee}
.grid .cap{padding:.3rem .4rem;word-break:break-word}
.score{color:#555}table{border-collapse:collapse;width:100%;font-size:13px;background:#fff}
th,td{border:1px solid #e2e2e2;padding:.25rem .4rem;text-align:left;vertical-align:top}
th{background:#f0f0f0}.named{color:#1a7f37}.unknown{color:#9a6700}.unusable{color:#777}.err{color:#b42318}
nav a{margin-right:.8rem}
`;

/**
 * `report.html`: one self-contained page (inline CSS, no script, no network) to review a run. The
 * thumbnails are relative links to the sorted copies beside it, so the page stays small and opens
 * from the folder, and each face shows the scores its decision was made from.
 */
export function renderReport(
  report: ArchiveReport,
  options: {
    readonly outputDir: string;
    readonly policy: MatchPolicy;
    readonly when: Date;
    /** The original of each copy in the output, by `<folder>/<name>` (the manifest's record). */
    readonly sources: ReadonlyMap<string, string>;
    /** A JPEG stand-in, relative to the output folder, for each original a browser cannot show (HEIC, TIFF). */
    readonly previews?: ReadonlyMap<string, string>;
  },
): string {
  const byFile = new Map(report.outcomes.map((o) => [o.file, o]));
  const sourceOf = options.sources;
  /** The thumbnail of a copy: the copy itself, or the stand-in of its original where a browser cannot show it. */
  const imageOf = (copy: string): string => {
    const source = sourceOf.get(copy);
    const preview = source === undefined ? undefined : options.previews?.get(source);
    return href(preview ?? copy);
  };
  const people = Object.keys(report.perPerson);
  const html: string[] = [];
  html.push(
    '<!doctype html><html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>facefile report: ${esc(path.basename(options.outputDir))}</title><style>${STYLE}</style></head><body>`,
    `<h1>facefile archive report</h1>`,
    `<p>${esc(options.when.toISOString().replace('T', ' ').slice(0, 16))} UTC · ${report.photos} photos, ${report.faces} faces, ` +
      `${report.changes.added.length} copies added, ${report.changes.removed.length} removed · match threshold ${options.policy.threshold}, margin ${options.policy.margin} · ` +
      `${(report.elapsedMs / 1000).toFixed(1)} s</p>`,
    `<nav>${[...people, '_unknown', '_no_faces'].map((p) => `<a href="#${anchor(p)}">${esc(p)} (${report.folders[p]?.length ?? 0})</a>`).join('')}` +
      `${report.unknownClusters.length > 0 ? '<a href="#groups">unknown groups</a>' : ''}<a href="#decisions">every face</a>${report.errors.length > 0 ? `<a href="#errors">errors (${report.errors.length})</a>` : ''}</nav>`,
  );

  for (const person of people) {
    const names = report.folders[person] ?? [];
    html.push(`<h2 id="${anchor(person)}">${esc(person)}: ${plural(names.length, 'photo')}</h2>`);
    if (names.length === 0) html.push('<p>No photos.</p>');
    html.push(
      grid(
        person,
        names,
        (name) => {
          const decision = byFile.get(sourceOf.get(`${person}/${name}`) ?? '')?.decisions.find((d) => d.person === person);
          return decision ? `<br><span class="score">${score(decision.best)}${decision.runnerUp ? `, next ${score(decision.runnerUp)}` : ''}</span>` : '';
        },
        imageOf,
      ),
    );
  }

  const unknown = report.folders._unknown ?? [];
  html.push(`<h2 id="_unknown">Unknown faces: ${plural(unknown.length, 'photo')} in _unknown</h2>`);
  html.push(
    grid(
      '_unknown',
      unknown,
      (name) => {
        const outcome = byFile.get(sourceOf.get(`_unknown/${name}`) ?? '');
        if (!outcome) return '';
        return outcome.decisions.map((d, i) => `<br>face ${i + 1}: ${describe(d)}`).join('');
      },
      imageOf,
    ),
  );
  if (report.unknownClusters.length > 0) {
    const copyOf = new Map<string, string>();
    for (const [copy, source] of options.sources) if (!copyOf.has(source)) copyOf.set(source, copy);
    html.push(`<h2 id="groups">Unknown faces that look like one person: ${plural(report.unknownClusters.length, 'group')}</h2>`);
    html.push(
      '<p>Each group is one face seen in several photos. To have them filed, make a folder for them in known/ with one of these photos (cropped to their face if others are in it).</p>',
    );
    report.unknownClusters.forEach((cluster, i) => {
      html.push(`<h3>Group ${i + 1}: ${plural(cluster.length, 'photo')}</h3><ul class="grid">`);
      for (const member of cluster) {
        const copy = copyOf.get(member.file);
        const image = copy ? `<a href="${href(copy)}"><img src="${imageOf(copy)}" alt="${esc(path.basename(member.file))}" loading="lazy"></a>` : '';
        html.push(`<li>${image}<div class="cap">${esc(path.basename(member.file))}<br>face ${member.face + 1}</div></li>`);
      }
      html.push('</ul>');
    });
  }
  const noFaces = report.folders._no_faces ?? [];
  html.push(
    `<h2 id="_no_faces">No faces: ${plural(noFaces.length, 'photo')}</h2>`,
    grid('_no_faces', noFaces, () => '', imageOf),
  );

  html.push('<h2 id="decisions">Every face, with its best and runner-up scores</h2>');
  html.push('<table><thead><tr><th>photo</th><th>face</th><th>decision</th><th>best</th><th>runner-up</th></tr></thead><tbody>');
  for (const outcome of report.outcomes) html.push(...decisionRows(outcome));
  html.push('</tbody></table>');

  const notUsed = report.known.flatMap((k) => k.problems.map((p) => ({ person: k.name, ...p })));
  if (notUsed.length > 0) {
    html.push('<h2 id="known">Known photos not used</h2><ul>');
    for (const p of notUsed) {
      const sheet = p.sheet ? ` (<a href="${href(path.relative(options.outputDir, p.sheet))}">its faces</a>)` : '';
      html.push(`<li>${esc(p.person)}: ${esc(path.basename(p.file))}: ${esc(p.reason)}${sheet}</li>`);
    }
    html.push('</ul>');
  }
  const couldBeBetter = report.known.flatMap((k) => k.advice.map((a) => ({ person: k.name, ...a })));
  if (couldBeBetter.length > 0) {
    html.push('<h2 id="known-advice">Known photos used that a better photo would improve</h2><ul>');
    for (const a of couldBeBetter) html.push(`<li>${esc(a.person)}: ${esc(path.basename(a.file))}: ${esc(a.text)}</li>`);
    html.push('</ul>');
  }
  if (report.duplicates.length > 0) {
    html.push('<h2 id="duplicates">The same photo under several names (filed once, under the first)</h2><ul>');
    for (const d of report.duplicates) html.push(`<li>${[d.kept, ...d.same].map((file) => esc(file)).join(' = ')}</li>`);
    html.push('</ul>');
  }
  if (report.errors.length > 0) {
    html.push('<h2 id="errors">Errors</h2><ul>');
    for (const error of report.errors) html.push(`<li class="err">${esc(error.file)}: ${esc(error.reason)}</li>`);
    html.push('</ul>');
  }
  html.push('</body></html>\n');
  return html.join('\n');
}

function grid(folder: string, names: readonly string[], caption: (name: string) => string, imageOf: (copy: string) => string): string {
  if (names.length === 0) return '';
  const items = names.map((name) => {
    const link = href(`${folder}/${name}`);
    return `<li><a href="${link}"><img src="${imageOf(`${folder}/${name}`)}" alt="${esc(name)}" loading="lazy"></a><div class="cap">${esc(name)}${caption(name)}</div></li>`;
  });
  return `<ul class="grid">${items.join('')}</ul>`;
}

function decisionRows(outcome: PhotoOutcome): string[] {
  if (outcome.decisions.length === 0) return [`<tr><td>${esc(outcome.file)}</td><td>none</td><td class="unusable">no faces</td><td></td><td></td></tr>`];
  return outcome.decisions.map((d, i) => {
    const verdict =
      d.verdict === 'person'
        ? `<span class="named">${esc(d.person ?? '')}</span>`
        : `<span class="${d.verdict}">${esc(REASONS[d.reason ?? ''] ?? d.reason ?? d.verdict)}</span>`;
    return `<tr><td>${i === 0 ? esc(outcome.file) : ''}</td><td>${i + 1}</td><td>${verdict}</td><td>${score(d.best)}</td><td>${score(d.runnerUp)}</td></tr>`;
  });
}

function describe(decision: FaceDecision): string {
  if (decision.verdict === 'unusable') return `<span class="unusable">${esc(REASONS[decision.reason ?? ''] ?? 'not usable')}</span>`;
  const why = REASONS[decision.reason ?? ''] ?? decision.reason ?? '';
  return `<span class="unknown">${esc(why)}</span>${decision.best ? `; best ${score(decision.best)}` : ''}${decision.runnerUp ? `, next ${score(decision.runnerUp)}` : ''}`;
}

function score(value: PersonScore | undefined): string {
  return value ? `${esc(value.personId)} ${value.similarity.toFixed(3)}` : '';
}

function href(relative: string): string {
  return relative.split(path.sep).join('/').split('/').map(encodeURIComponent).join('/');
}

function anchor(name: string): string {
  return name.replace(/[^\p{L}\p{N}_-]+/gu, '-');
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}
