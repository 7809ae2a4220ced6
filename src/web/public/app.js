// facefile ui: the page's script. Plain browser JavaScript, no build step: it only talks to the
// server that served it, and builds every element with textContent so no name is ever read as HTML.

import { faceCorrections } from '/shared/corrections.js';
import { drawFaceBoxes, swipe } from '/shared/faces.js';

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const ROLES = ['photos', 'known', 'output'];
const PHASES = {
  starting: 'Starting the face recognition',
  known: 'Learning the known faces',
  photos: 'Looking at the photos',
  filing: 'Saving the sorted copies',
  finishing: 'Finishing',
};

let token = new URLSearchParams(location.search).get('token') ?? '';
let lastRuns = -1;
let runningBefore = false;
let browsing = { role: 'photos', path: '' };
/** The photo open in the viewer: the grid it was opened from and its place in it. */
let viewing = { photos: [], index: -1, folder: '' };

/** Builds an element: h('a', { href }, 'text', child). */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) if (child !== undefined && child !== null) element.append(child instanceof Node ? child : String(child));
  return element;
}

/** An answer the server refused; `data` is its JSON body (`error`, and what else it says). */
class ApiError extends Error {
  constructor(message, data) {
    super(message);
    this.data = data;
    // A name that is a known person already, to be confirmed (the shared corrections read this).
    if (typeof data?.exists === 'string') this.exists = data.exists;
  }
}

async function api(path, body) {
  const init =
    body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json', 'x-facefile-token': token }, body: JSON.stringify(body) };
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(data.error ?? `the server answered ${response.status}`, data);
  return data;
}

const query = (params) => new URLSearchParams(params).toString();
const plural = (n, word, many = `${word}s`) => `${n} ${n === 1 ? word : many}`;
const folderLabel = (name) => (name === '_unknown' ? 'Unknown people' : name === '_no_faces' ? 'No faces' : name);

function showStatus(text, isError = false) {
  const status = $('status-text');
  status.textContent = text;
  status.classList.toggle('error', isError);
}

function showState(state) {
  for (const role of ROLES) if (state.folders) /** @type {HTMLInputElement} */ ($(`${role}-path`)).value = state.folders[role];
  /** @type {HTMLInputElement} */ ($('zips')).checked = state.zips;
  const running = state.status === 'running';
  for (const id of ['run', 'apply']) /** @type {HTMLButtonElement} */ ($(id)).disabled = running;
  const bar = /** @type {HTMLProgressElement} */ ($('progress'));
  bar.hidden = !running;
  if (running && state.progress) {
    const { phase, done, total } = state.progress;
    bar.max = Math.max(total, 1);
    bar.value = done;
    showStatus(`${PHASES[phase] ?? phase}${total ? `: ${done} of ${total}` : '…'}`);
  } else if (state.status === 'failed') {
    showStatus(state.error ?? 'The run failed.', true);
  } else if (runningBefore) {
    showStatus('Done.');
  } else if (state.runs === 0 && state.folders) {
    showStatus('Ready: press “Sort the photos”.');
  }
  runningBefore = running;
  if (state.runs !== lastRuns) {
    lastRuns = state.runs;
    if (state.runs > 0) void loadResults();
  }
}

// --- Folders and the folder browser -------------------------------------------------------------

async function browse(path) {
  $('browser-error').textContent = '';
  try {
    const listing = await api(`/api/browse?${query(path ? { path } : {})}`);
    browsing.path = listing.path;
    $('browser-path').textContent = listing.path;
    /** @type {HTMLButtonElement} */ ($('browser-up')).disabled = !listing.parent;
    $('browser-up').dataset.path = listing.parent ?? '';
    const list = $('browser-list');
    list.replaceChildren(
      ...listing.folders.map((folder) =>
        h('li', {}, h('button', { type: 'button', class: 'folder', onclick: () => void browse(folder.path) }, `📁 ${folder.name}`)),
      ),
    );
    if (listing.folders.length === 0) list.append(h('li', { class: 'help' }, 'No sub-folders here.'));
  } catch (error) {
    $('browser-error').textContent = error.message;
  }
}

async function openBrowser(role) {
  browsing = { role, path: '' };
  const dialog = /** @type {HTMLDialogElement} */ ($('browser'));
  const roles = { photos: 'the photos to sort', known: 'the known faces', output: 'where to save the sorted copies' };
  $('browser-title').textContent = `Choose ${roles[role]}`;
  const current = /** @type {HTMLInputElement} */ ($(`${role}-path`)).value;
  const state = await api('/api/state');
  $('browser-roots').replaceChildren(
    h('span', {}, 'Start from: '),
    ...state.roots.map((root) => h('button', { type: 'button', onclick: () => void browse(root) }, root)),
  );
  await browse(current || state.roots[0]);
  dialog.showModal();
  $('browser-choose').focus();
}

async function chooseFolder() {
  const input = /** @type {HTMLInputElement} */ ($(`${browsing.role}-path`));
  input.value = browsing.path;
  /** @type {HTMLDialogElement} */ ($('browser')).close();
  input.nextElementSibling?.focus?.();
  await saveFolders(false);
}

async function saveFolders(required) {
  const values = Object.fromEntries(ROLES.map((role) => [role, /** @type {HTMLInputElement} */ ($(`${role}-path`)).value]));
  const missing = ROLES.filter((role) => !values[role]);
  if (missing.length > 0) {
    if (required)
      showStatus(`Choose the ${missing.map((r) => ({ photos: 'photos', known: 'known faces', output: 'save' })[r]).join(', ')} folder first.`, true);
    return false;
  }
  try {
    await api('/api/folders', { ...values, zips: /** @type {HTMLInputElement} */ ($('zips')).checked });
    return true;
  } catch (error) {
    showStatus(error.message, true);
    return false;
  }
}

async function run(threshold) {
  if (!(await saveFolders(true))) return;
  try {
    await api('/api/run', threshold === undefined ? {} : { threshold });
  } catch (error) {
    showStatus(error.message, true);
  }
}

// --- Results --------------------------------------------------------------------------------------

async function loadResults() {
  const results = await api('/api/results');
  if (!results) return;
  $('results').hidden = false;
  const people = results.folders.filter((f) => f.kind === 'person');
  $('summary').textContent =
    `${plural(results.photos, 'photo')} sorted in ${(results.elapsedMs / 1000).toFixed(1)} s at threshold ${results.threshold}: ` +
    people.map((f) => `${f.name} ${f.photos.length}`).join(', ') +
    (people.length ? '.' : 'no known people yet.');

  const problems = [
    ...results.known.filter((k) => k.samples === 0).map((k) => `${k.name}: no usable face in the known photos, so no photo can be filed under this person.`),
    ...results.known.flatMap((k) =>
      k.problems.map((p) => {
        if (!p.sheet) return `Known photo ${p.file}: ${p.reason}`;
        const sheet = `/api/photo?${query({ in: 'output', path: p.sheet })}`;
        return h(
          'span',
          {},
          `Known photo ${p.file}: ${p.reason} `,
          h('a', { href: sheet, target: '_blank', rel: 'noopener', class: 'sheet' }, h('img', { src: sheet, alt: `the faces in ${p.file}, numbered` })),
        );
      }),
    ),
    ...results.errors.map((e) => `${e.file}: ${e.reason}`),
  ];
  $('problems').replaceChildren(
    ...(problems.length
      ? [
          h('h3', {}, 'Needs a look'),
          h(
            'ul',
            { class: 'problems' },
            problems.map((p) => h('li', {}, p)),
          ),
        ]
      : []),
  );

  const zips = new Map(results.zips.map((z) => [z.person, z]));
  $('grids').replaceChildren(
    ...results.folders.map((folder) => {
      const zip = zips.get(folder.name);
      const headingId = `grid-${folder.kind}-${folder.name}`.replace(/[^\w-]/g, '_');
      return h(
        'section',
        { class: `grid-block ${folder.kind}`, 'aria-labelledby': headingId, 'data-folder': folder.name },
        h('h3', { id: headingId }, `${folderLabel(folder.name)} `, h('span', { class: 'count' }, `(${plural(folder.photos.length, 'photo')})`)),
        zip
          ? h(
              'a',
              { class: 'zip', href: `/api/zip?${query({ path: zip.path })}`, download: '' },
              `Download ${folder.name}.zip (${(zip.bytes / 1e6).toFixed(1)} MB)`,
            )
          : undefined,
        folder.photos.length === 0
          ? h('p', { class: 'help' }, 'No photos.')
          : h(
              'ul',
              { class: 'grid' },
              folder.photos.map((photo) =>
                h(
                  'li',
                  {},
                  h(
                    'a',
                    {
                      href: `/api/photo?${query({ in: 'photos', path: photo })}`,
                      target: '_blank',
                      rel: 'noopener',
                      title: photo,
                      // Opens the viewer (faces named, corrections); a middle click still opens the original.
                      onclick: (event) => {
                        if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
                        event.preventDefault();
                        viewing = { photos: folder.photos, index: folder.photos.indexOf(photo), folder: folder.name };
                        void showPhoto();
                      },
                    },
                    h('img', {
                      src: `/api/thumb?${query(folder.kind === 'person' ? { in: 'photos', path: photo, for: folder.name } : { in: 'photos', path: photo })}`,
                      alt: photo,
                      loading: 'lazy',
                      width: 100,
                      height: 100,
                    }),
                  ),
                ),
              ),
            ),
      );
    }),
  );

  void loadSuggestions();
  const viewer = /** @type {HTMLDialogElement} */ ($('viewer'));
  if (viewer.open) void showPhoto();

  $('unknown').hidden = results.clusters.length === 0;
  $('clusters').replaceChildren(...results.clusters.map(clusterItem));

  $('threshold').hidden = false;
  setSlider(results.threshold);
  updatePlot(results.threshold);
}

function clusterItem(cluster) {
  const inputId = `name-${cluster.id}`;
  const faces = Array.from({ length: cluster.faces }, (_, n) =>
    h('img', {
      src: `/api/face?${query({ cluster: cluster.id, n, v: lastRuns })}`,
      alt: `face ${n + 1} of unknown person ${cluster.id}`,
      width: 80,
      height: 80,
    }),
  );
  const form = h(
    'form',
    {
      class: 'name-form',
      onsubmit: async (event) => {
        event.preventDefault();
        const input = /** @type {HTMLInputElement} */ (form.querySelector('input'));
        await name(input.value, false);
      },
    },
    h('label', { for: inputId }, 'Who is this?'),
    h('input', { id: inputId, name: 'name', required: true, autocomplete: 'off', placeholder: 'Their name' }),
    h('button', { type: 'submit' }, 'Name'),
  );
  // The answer shows here, beside the name typed, not at the top of a long page.
  const said = h('p', { class: 'form-status', role: 'status' });
  async function name(value, merge) {
    said.replaceChildren();
    said.classList.remove('error');
    try {
      const named = await api('/api/name', { cluster: cluster.id, name: value, merge });
      const text = `Added ${plural(named.samples, 'photo')} to the known faces of ${named.name}; sorting again…`;
      said.textContent = text;
      showStatus(text);
    } catch (error) {
      said.classList.add('error');
      said.textContent = error.message;
      const existing = error instanceof ApiError ? error.data.exists : undefined;
      if (existing !== undefined) said.append(' ', h('button', { type: 'button', onclick: () => name(existing, true) }, `Yes, add them to ${existing}`));
    }
  }
  return h(
    'li',
    { class: 'cluster', 'data-cluster': cluster.id },
    h('p', {}, `Unknown person ${cluster.id}, in ${plural(cluster.photos, 'photo')}`),
    h('div', { class: 'faces' }, faces),
    form,
    said,
  );
}

// --- The viewer and corrections ------------------------------------------------------------------

/** Opens (or refreshes) the viewer on `viewing`: the photo large, its faces boxed and named, a correction for each. */
async function showPhoto() {
  const photo = viewing.photos[viewing.index];
  const viewer = /** @type {HTMLDialogElement} */ ($('viewer'));
  if (photo === undefined) return viewer.close();
  if (!viewer.open) viewer.showModal();
  /** @type {HTMLButtonElement} */ ($('viewer-prev')).disabled = viewing.index === 0;
  /** @type {HTMLButtonElement} */ ($('viewer-next')).disabled = viewing.index === viewing.photos.length - 1;
  $('viewer-title').textContent = photo;
  $('viewer-original').setAttribute('href', `/api/photo?${query({ in: 'photos', path: photo })}`);
  $('viewer-note').textContent = '';
  const large = /** @type {HTMLImageElement} */ ($('large'));
  let view;
  try {
    view = await api(`/api/view?${query({ path: photo })}`);
  } catch (error) {
    $('viewer-note').textContent = error.message;
    $('viewer-faces').replaceChildren();
    return;
  }
  if (viewing.photos[viewing.index] !== photo) return;
  large.src = `/api/large?${query({ path: photo, v: lastRuns })}`;
  large.alt = photo;
  await large.decode().catch(() => undefined);
  const faces = view.faces.map((f) => ({ box: f.box, ...(f.person ? { name: f.person, score: f.score } : {}), hint: Boolean(f.suggestion) }));
  drawFaceBoxes($('frame'), large, faces, view.width);
  const unknown = view.faces.filter((f) => !f.person);
  $('viewer-faces').replaceChildren(
    ...view.faces.map((face, index) => {
      const label = face.person ?? (unknown.length > 1 ? `?${unknown.indexOf(face) + 1}` : 'unknown');
      // The corrections both pages share (src/web/shared/corrections.js), on this page's routes.
      const actions = {
        notThis: async (person) => {
          await api('/api/notthis', { path: photo, face: index, person });
          return `Not ${person}: noted. Sorting again…`;
        },
        addTo: async (name, merge) => {
          const added = await api('/api/addface', { path: photo, face: index, name, merge });
          return `Added to ${added.name}. Sorting again…`;
        },
        say: (text, isError = false, confirm) => {
          const note = $('viewer-note');
          note.textContent = text;
          note.classList.toggle('error', isError);
          if (confirm) note.append(' ', confirm);
        },
      };
      const correctable = face.person ? { name: face.person } : face.suggestion ? { suggestion: face.suggestion.person } : {};
      return h(
        'li',
        { class: 'face-row', 'data-face': index },
        h('span', { class: 'who' }, label),
        ...faceCorrections(correctable, String(index), actions, view.people),
      );
    }),
  );
  if (view.faces.length === 0) $('viewer-faces').append(h('li', { class: 'help' }, 'No face found in this photo.'));
}

function step(direction) {
  const next = viewing.index + direction;
  if (next < 0 || next >= viewing.photos.length) return;
  viewing.index = next;
  void showPhoto();
}

/** Faces the run could not name whose best match is just below the threshold: one tap each. */
async function loadSuggestions() {
  let suggestions;
  try {
    suggestions = await api('/api/suggestions');
  } catch {
    suggestions = [];
  }
  $('suggest').hidden = suggestions.length === 0;
  $('suggestions').replaceChildren(
    ...suggestions.map((s) => {
      const said = h('p', { class: 'form-status', role: 'status' });
      const answer = async (path, body, done) => {
        try {
          await api(path, body);
          said.textContent = `${done} Sorting again…`;
        } catch (error) {
          said.textContent = error.message;
          said.classList.add('error');
        }
      };
      return h(
        'li',
        { class: 'suggestion', 'data-file': s.file },
        h('img', { src: `/api/face?${query({ path: s.file, face: s.face, v: lastRuns })}`, alt: `a face in ${s.file}`, width: 80, height: 80 }),
        h('p', {}, `Is this ${s.person}? `, h('span', { class: 'count' }, `(${s.score.toFixed(3)}, in ${s.file})`)),
        h(
          'button',
          { type: 'button', onclick: () => void answer('/api/addface', { path: s.file, face: s.face, name: s.person, merge: true }, `Added to ${s.person}.`) },
          'Yes',
        ),
        h(
          'button',
          { type: 'button', onclick: () => void answer('/api/notthis', { path: s.file, face: s.face, person: s.person }, `Not ${s.person}: noted.`) },
          'No',
        ),
        said,
      );
    }),
  );
}

// --- Threshold --------------------------------------------------------------------------------------

function setSlider(value) {
  const slider = /** @type {HTMLInputElement} */ ($('slider'));
  slider.value = String(value);
  $('slider-value').textContent = Number(value).toFixed(3);
}

let previewTimer;
function updatePlot(value) {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(async () => {
    /** @type {HTMLImageElement} */ ($('plot')).src = `/api/plot.png?${query({ threshold: value })}`;
    try {
      const preview = await api(`/api/preview?${query({ threshold: value })}`);
      $('preview').textContent =
        preview.photosMoved === 0
          ? `At ${Number(value).toFixed(3)} no photo would move.`
          : `At ${Number(value).toFixed(3)}, ${plural(preview.photosMoved, 'photo')} would move (${plural(preview.added, 'copy', 'copies')} added, ${preview.removed} taken away).`;
      $('preview').dataset.moved = String(preview.photosMoved);
    } catch (error) {
      $('preview').textContent = error.message;
    }
  }, 120);
}

// --- Wiring ---------------------------------------------------------------------------------------

async function start() {
  const state = await api('/api/state');
  token ||= state.token;
  // The token now lives in a cookie too: keep it out of the address bar (and out of history).
  if (location.search) history.replaceState(null, '', '/');
  for (const button of document.querySelectorAll('button.choose')) button.addEventListener('click', () => void openBrowser(button.dataset.role));
  $('browser-up').addEventListener('click', () => void browse($('browser-up').dataset.path));
  $('browser-choose').addEventListener('click', () => void chooseFolder());
  $('browser-cancel').addEventListener('click', () => /** @type {HTMLDialogElement} */ ($('browser')).close());
  $('new-folder').addEventListener('click', async () => {
    const input = /** @type {HTMLInputElement} */ ($('new-folder-name'));
    try {
      const made = await api('/api/mkdir', { parent: browsing.path, name: input.value });
      input.value = '';
      await browse(made.path);
    } catch (error) {
      $('browser-error').textContent = error.message;
    }
  });
  $('zips').addEventListener('change', () => void saveFolders(false));
  $('folders-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void run();
  });
  const slider = /** @type {HTMLInputElement} */ ($('slider'));
  slider.addEventListener('input', () => {
    $('slider-value').textContent = Number(slider.value).toFixed(3);
    updatePlot(slider.value);
  });
  $('threshold-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void run(Number(slider.value));
  });
  $('viewer-prev').addEventListener('click', () => step(-1));
  $('viewer-next').addEventListener('click', () => step(1));
  $('viewer-close').addEventListener('click', () => /** @type {HTMLDialogElement} */ ($('viewer')).close());
  $('viewer').addEventListener('keydown', (event) => {
    if (event.target instanceof HTMLInputElement) return;
    if (event.key === 'ArrowLeft') step(-1);
    if (event.key === 'ArrowRight') step(1);
  });
  swipe($('frame'), step);
  showState(state);
  const events = new EventSource('/api/events');
  events.onmessage = (message) => showState(JSON.parse(message.data));
}

void start();
