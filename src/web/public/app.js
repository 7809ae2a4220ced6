// facefile ui: the page's script. Plain browser JavaScript, no build step: it only talks to the
// server that served it, and builds every element with textContent so no name is ever read as HTML.

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
                    { href: `/api/photo?${query({ in: 'photos', path: photo })}`, target: '_blank', rel: 'noopener', title: photo },
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
  showState(state);
  const events = new EventSource('/api/events');
  events.onmessage = (message) => showState(JSON.parse(message.data));
}

void start();
