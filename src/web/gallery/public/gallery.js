// The group gallery: people, a person's photos by month ("with" others, in a year), one photo with
// its faces named. Opened from Telegram (launch data in the URL fragment, as Telegram's client
// passes it) or from a Discord link (#link=...). Every request carries the session token in a
// header; images are fetched the same way and shown from blob: URLs.

import { faceCorrections } from '/shared/corrections.js';
import { drawFaceBoxes, swipe } from '/shared/faces.js';
import { backButton, insideTelegram, on, startTelegram } from '/telegram.js';

const $ = (id) => document.getElementById(id);
const state = { token: '', people: [], names: [], unknown: [], person: undefined, photos: [], next: 0, loading: false, open: -1, query: '', stale: false };
const blobs = new Map();

const fragment = new URLSearchParams(location.hash.slice(1));
applyTheme(fragment.get('tgWebAppThemeParams'));
// The launch data and link are credentials: out of the address bar (and history) once read.
if (location.hash) history.replaceState(null, '', location.pathname);

start().catch((error) => say(error.message));

async function start() {
  const initData = fragment.get('tgWebAppData');
  const link = fragment.get('link');
  const kept = sessionStorage.getItem('facefile-session');
  // Launched by Telegram (or reloaded there): the client's own back button goes back, not one
  // drawn on the page, and a theme changed in the client follows.
  if (initData) sessionStorage.setItem('facefile-telegram', '1');
  if (sessionStorage.getItem('facefile-telegram') === '1') {
    startTelegram();
    on('back_button_pressed', () => history.back());
    on('theme_changed', (data) => applyTheme(JSON.stringify(data?.theme_params ?? {})));
  }
  if (initData || link) await session('/api/session', initData ? { initData } : { link });
  else if (kept) state.token = kept;
  else throw new Error('Open the gallery with /gallery in your group.');
  setInterval(() => session('/api/refresh').catch((error) => say(error.message)), 8 * 60 * 1000);
  addEventListener('popstate', route);
  $('back').addEventListener('click', () => history.back());
  $('with').addEventListener('change', () => reload());
  $('year').addEventListener('change', () => reload());
  $('zip').addEventListener('click', () => downloadZip().catch((error) => say(error.message)));
  $('unknown-show').addEventListener('click', () => loadUnknown().catch((error) => say(error.message)));
  $('name-form').addEventListener('submit', (event) => {
    event.preventDefault();
    nameCluster(false);
  });
  $('name-yes').addEventListener('click', () => nameCluster(true));
  $('admin-open').addEventListener('click', () => go({ admin: 1 }));
  $('threshold-form').addEventListener('submit', (event) => {
    event.preventDefault();
    previewThreshold().catch((error) => ($('admin-note').textContent = error.message));
  });
  $('threshold-apply').addEventListener('click', () => applyThreshold().catch((error) => ($('admin-note').textContent = error.message)));
  $('name-no').addEventListener('click', () => {
    $('name-confirm').hidden = true;
    $('name-input').focus();
  });
  $('prev').addEventListener('click', () => show(state.open - 1));
  $('next').addEventListener('click', () => show(state.open + 1));
  addEventListener('keydown', (event) => {
    if ($('viewer').hidden) return;
    if (event.key === 'ArrowLeft') show(state.open - 1);
    if (event.key === 'ArrowRight') show(state.open + 1);
    if (event.key === 'Escape') history.back();
  });
  swipe($('frame'), (direction) => show(state.open + direction));
  new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && more()).observe($('more'));
  await loadPeople();
  route();
}

async function session(url, body) {
  const answer = await api(url, { method: 'POST', body: body === undefined ? undefined : JSON.stringify(body) });
  state.token = answer.token;
  sessionStorage.setItem('facefile-session', answer.token);
}

async function api(url, init = {}) {
  const response = await fetch(url, {
    ...init,
    headers: { ...(init.body ? { 'content-type': 'application/json' } : {}), ...(state.token ? { authorization: `Bearer ${state.token}` } : {}) },
  });
  if (response.ok) return url.startsWith('/api/thumb') || url.startsWith('/api/large') || url.startsWith('/api/original') ? response.blob() : response.json();
  const problem = await response.json().catch(() => ({}));
  if (response.status === 401) sessionStorage.removeItem('facefile-session');
  throw new Error(problem.error ?? `The gallery answered ${response.status}.`);
}

/** An image the session may fetch, as a blob: URL (kept, so each is fetched once per page). */
async function image(url) {
  if (!blobs.has(url))
    blobs.set(
      url,
      api(url).then((blob) => URL.createObjectURL(blob)),
    );
  return blobs.get(url);
}

function say(text) {
  $('status').textContent = text;
  $('status').hidden = !text;
}

async function loadPeople() {
  const answer = await api('/api/people');
  state.people = answer.people;
  state.names = answer.names ?? answer.people.map((p) => p.name);
  state.admin = answer.admin === true;
  $('admin-open').hidden = !state.admin;
  const list = $('people-list');
  list.replaceChildren();
  for (const person of answer.people) {
    const item = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.person = person.id;
    const img = document.createElement('img');
    img.alt = '';
    if (person.cover)
      image(`/api/thumb?hash=${person.cover}&person=${encodeURIComponent(person.id)}`).then(
        (src) => (img.src = src),
        () => undefined,
      );
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = person.name;
    const n = document.createElement('span');
    n.className = 'n';
    n.textContent = `${person.photos} photo${person.photos === 1 ? '' : 's'}`;
    button.append(img, name, n);
    button.addEventListener('click', () => go({ person: person.id }));
    item.append(button);
    list.append(item);
  }
  say(answer.people.length === 0 ? 'No photos are filed yet: members /enroll, then photos posted in the group appear here.' : '');
}

function go(params) {
  const search = new URLSearchParams(params).toString();
  history.pushState(null, '', search ? `?${search}` : location.pathname);
  route();
}

/** The view the address names: people, a person, a photo of a person's grid, or someone not named yet. */
function route() {
  const params = new URLSearchParams(location.search);
  const id = params.get('person');
  const person = state.people.find((p) => p.id === id);
  const cluster = state.unknown.find((c) => String(c.id) === params.get('cluster'));
  const admin = state.admin && params.has('admin');
  const photo = Number(params.get('photo') ?? -1);
  $('people').hidden = Boolean(person || cluster || admin);
  $('admin').hidden = !admin;
  if (admin) loadAdmin().catch((error) => say(error.message));
  $('person').hidden = !person || photo >= 0;
  $('viewer').hidden = !person || photo < 0;
  $('cluster').hidden = !cluster;
  const deeper = Boolean(person || cluster || admin);
  $('back').hidden = !deeper || insideTelegram();
  backButton(deeper);
  $('title').textContent = person ? person.name : cluster ? 'Not named yet' : admin ? 'For admins' : 'Gallery';
  if (cluster) showCluster(cluster);
  if (!person) return;
  if (state.person !== person.id) {
    state.person = person.id;
    fillFilters(person);
    reload();
  } else if (state.stale && photo < 0) {
    state.stale = false;
    reload();
  }
  if (photo >= 0) show(photo, false);
}

/**
 * The faces that keep appearing (the chat's /unknown), clustered when asked: it takes the server
 * a few seconds in a large group.
 */
async function loadUnknown() {
  const button = $('unknown-show');
  button.disabled = true;
  button.textContent = 'Looking…';
  try {
    const answer = await api('/api/unknown');
    state.unknown = answer.clusters;
    const list = $('unknown-list');
    list.replaceChildren(
      ...answer.clusters.map((cluster) => {
        const item = document.createElement('li');
        const open = document.createElement('button');
        open.type = 'button';
        open.dataset.cluster = String(cluster.id);
        const img = document.createElement('img');
        img.alt = '';
        image(`/api/thumb?hash=${cluster.face.hash}&face=${cluster.face.index}`).then(
          (src) => (img.src = src),
          () => undefined,
        );
        const n = document.createElement('span');
        n.className = 'n';
        n.textContent = `${cluster.photos} photos`;
        open.append(img, n);
        open.addEventListener('click', () => go({ cluster: cluster.id }));
        item.append(open);
        return item;
      }),
    );
    $('unknown-hint').textContent =
      answer.clusters.length === 0
        ? `No face keeps appearing yet (one must be on ${answer.minPhotos} photos or more).`
        : 'Faces that keep appearing in the photos, of people nobody has named. Tap one to name it.';
  } finally {
    button.disabled = false;
    button.textContent = 'Look again';
  }
}

function showCluster(cluster) {
  state.cluster = cluster;
  $('cluster-count').textContent = `On ${cluster.photos} photos.`;
  $('name-confirm').hidden = true;
  $('name-note').textContent = '';
  $('cluster-grid').replaceChildren(
    ...cluster.faces.map((face) => {
      const img = document.createElement('img');
      img.alt = '';
      image(`/api/thumb?hash=${face.hash}&face=${face.index}`).then(
        (src) => (img.src = src),
        () => undefined,
      );
      return img;
    }),
  );
}

/**
 * Names the cluster shown (the chat's /name, with its rules and audit entry). A name that is
 * someone's already asks first: the faces would join that person's samples.
 */
async function nameCluster(confirmed) {
  const cluster = state.cluster;
  const name = $('name-input').value.trim();
  if (!cluster || !name) return;
  const known = state.names.find((n) => n.toLocaleLowerCase() === name.toLocaleLowerCase());
  if (known && !confirmed) {
    $('name-question').textContent = `${known} is known already. Are these photos of ${known}?`;
    $('name-confirm').hidden = false;
    return;
  }
  $('name-confirm').hidden = true;
  $('name-submit').disabled = true;
  try {
    const result = await api('/api/name', {
      method: 'POST',
      body: JSON.stringify({ cluster: cluster.id, hash: cluster.face.hash, face: cluster.face.index, name }),
    });
    // Naming files photos anew and ends the numbering: the lists are read again.
    state.unknown = [];
    $('unknown-list').replaceChildren();
    await loadPeople();
    $('name-input').value = '';
    history.replaceState(null, '', `?${new URLSearchParams({ person: result.person.id })}`);
    state.person = undefined;
    route();
    say(`${result.person.name}: ${result.filed} photo${result.filed === 1 ? '' : 's'} filed${result.newPerson ? ', a new person' : ''}.`);
  } catch (error) {
    $('name-note').textContent = error.message;
  } finally {
    $('name-submit').disabled = false;
  }
}

/** For the group's admins: the threshold now, and who changed what (the chat's /audit). */
async function loadAdmin() {
  const answer = await api('/api/admin');
  $('threshold-now').textContent =
    `Now ${answer.threshold.toFixed(3)}: a face is named when it is at least this similar to someone's samples (${answer.range.min} to ${answer.range.max}; higher: fewer, surer matches).`;
  Object.assign($('threshold-input'), { min: answer.range.min, max: answer.range.max, value: answer.threshold.toFixed(3) });
  $('audit-list').replaceChildren(
    ...answer.audit.map((entry) => {
      const item = document.createElement('li');
      item.textContent = `${new Date(entry.at).toLocaleString()} · ${entry.byName ?? 'facefile'}: ${entry.detail}`;
      return item;
    }),
  );
}

/** What a new threshold would move, with the plot of how the group's faces match: nothing changes yet. */
async function previewThreshold() {
  const value = Number($('threshold-input').value);
  const answer = await api(`/api/threshold?value=${value}`);
  const png = Uint8Array.from(atob(answer.plot), (c) => c.charCodeAt(0));
  $('threshold-plot').src = URL.createObjectURL(new Blob([png], { type: 'image/png' }));
  const p = answer.proposed;
  $('threshold-says').textContent = p
    ? `At ${p.threshold.toFixed(3)}: ${p.photosChanged} photo${p.photosChanged === 1 ? '' : 's'} would change: ${p.filed} would gain a person, ${p.unfiled} would lose one.`
    : '';
  $('threshold-result').hidden = false;
  state.proposed = value;
}

async function applyThreshold() {
  const result = await api('/api/threshold', { method: 'POST', body: JSON.stringify({ value: state.proposed }) });
  $('admin-note').textContent = `The threshold is ${result.threshold.toFixed(3)} (was ${result.previous.toFixed(3)}): ${result.photosChanged} photos changed.`;
  $('threshold-result').hidden = true;
  await loadPeople();
  await loadAdmin();
}

function fillFilters(person) {
  const others = state.people.filter((p) => p.id !== person.id);
  $('with').replaceChildren(...others.map((p) => new Option(p.name, p.id)));
  const year = new Date().getUTCFullYear();
  $('year').replaceChildren(new Option('Any', ''), ...Array.from({ length: 30 }, (_, i) => new Option(String(year - i), String(year - i))));
}

/** The person's photos read again, with the filters chosen; `suggest`: their suggestions too. */
function reload(suggest = true) {
  const withIds = [...$('with').selectedOptions].map((o) => o.value);
  const year = $('year').value;
  const params = new URLSearchParams({ people: [state.person, ...withIds].join(',') });
  if (year) {
    params.set('from', `${year}-01-01`);
    params.set('to', `${year}-12-31`);
  }
  state.query = params.toString();
  // Suggestions are the person's alone, not a filter's.
  if (withIds.length === 0 && !year) {
    if (suggest) loadSuggestions(state.person).catch((error) => say(error.message));
  } else $('suggest').hidden = true;
  state.photos = [];
  state.next = 0;
  $('months').replaceChildren();
  $('count').textContent = '';
  more();
}

async function more() {
  if (state.loading || state.next === undefined || !state.person || $('person').hidden) return;
  state.loading = true;
  const query = state.query;
  try {
    const page = await api(`/api/photos?${query}&offset=${state.next}`);
    if (query !== state.query) return;
    $('count').textContent = `${page.total} photo${page.total === 1 ? '' : 's'}`;
    $('zip').hidden = page.total === 0;
    for (const photo of page.photos) addToGrid(photo, state.photos.push(photo) - 1);
    state.next = page.next;
  } catch (error) {
    say(error.message);
  } finally {
    state.loading = false;
  }
}

/**
 * The page's photos (this person, "with", the year) as one zip: the server gives a short-lived
 * link, which the browser follows and saves itself, streamed, rather than this page holding a
 * whole album in memory.
 */
async function downloadZip() {
  const { url } = await api(`/api/download?${state.query}`, { method: 'POST' });
  const a = document.createElement('a');
  a.href = url;
  a.download = '';
  document.body.append(a);
  a.click();
  a.remove();
}

/**
 * "Is this Anna?": faces whose best match is this person, a little below the threshold. Yes adds
 * the face as her sample (the photo joins her album, and her next photos are found more surely);
 * no takes the photo from her for good. Each answer is the chat's rules and an audit entry.
 */
async function loadSuggestions(personId) {
  const person = state.people.find((p) => p.id === personId);
  const { suggestions } = await api(`/api/suggestions?person=${encodeURIComponent(personId)}`);
  if (!person || state.person !== personId) return;
  $('suggest').hidden = suggestions.length === 0;
  $('suggest-title').textContent = `Is this ${person.name}?`;
  $('suggest-list').replaceChildren(
    ...suggestions.map((suggestion) => {
      const item = document.createElement('li');
      const img = document.createElement('img');
      img.alt = '';
      image(`/api/thumb?hash=${suggestion.hash}&face=${suggestion.face}`).then(
        (src) => (img.src = src),
        () => undefined,
      );
      const answer = async (yes) => {
        for (const button of item.querySelectorAll('button')) button.disabled = true;
        try {
          if (yes) await api('/api/enroll', { method: 'POST', body: JSON.stringify({ hash: suggestion.hash, face: suggestion.face, name: person.name }) });
          else await api('/api/dismiss', { method: 'POST', body: JSON.stringify({ hash: suggestion.hash, person: person.id }) });
          item.remove();
          if ($('suggest-list').children.length === 0) $('suggest').hidden = true;
          // The photo joined the album: the grid shows it.
          if (yes) reload(false);
        } catch (error) {
          say(error.message);
          for (const button of item.querySelectorAll('button')) button.disabled = false;
        }
      };
      const yes = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Yes', className: 'yes' });
      const no = Object.assign(document.createElement('button'), { type: 'button', textContent: 'No', className: 'no' });
      yes.addEventListener('click', () => answer(true));
      no.addEventListener('click', () => answer(false));
      item.append(img, yes, no);
      return item;
    }),
  );
}

function monthOf(photo) {
  return new Date(photo.takenAt ?? photo.postedAt).toLocaleDateString(undefined, { year: 'numeric', month: 'long', timeZone: 'UTC' });
}

function addToGrid(photo, index) {
  const label = monthOf(photo);
  let month = $('months').lastElementChild;
  if (!month || month.dataset.month !== label) {
    month = document.createElement('section');
    month.className = 'month';
    month.dataset.month = label;
    const heading = document.createElement('h2');
    heading.textContent = label;
    const grid = document.createElement('div');
    grid.className = 'grid';
    month.append(heading, grid);
    $('months').append(month);
  }
  const button = document.createElement('button');
  button.type = 'button';
  button.dataset.hash = photo.hash;
  const img = document.createElement('img');
  img.alt = `Photo of ${label}`;
  image(`/api/thumb?hash=${photo.hash}&person=${encodeURIComponent(state.person)}`).then(
    (src) => (img.src = src),
    () => undefined,
  );
  button.append(img);
  button.addEventListener('click', () => go({ person: state.person, photo: index }));
  month.lastElementChild.append(button);
}

async function show(index, push = true) {
  const photo = state.photos[index];
  if (!photo) return;
  if (push) {
    history.replaceState(null, '', `?${new URLSearchParams({ person: state.person, photo: index })}`);
  }
  state.open = index;
  $('person').hidden = true;
  $('viewer').hidden = false;
  $('prev').disabled = index === 0;
  $('next').disabled = index === state.photos.length - 1 && state.next === undefined;
  if (index >= state.photos.length - 3) more();
  const [detail, src] = await Promise.all([api(`/api/photo?hash=${photo.hash}`), image(`/api/large?hash=${photo.hash}`)]);
  if (state.open !== index) return;
  const large = $('large');
  large.src = src;
  await large.decode().catch(() => undefined);
  drawFaces(detail, large);
  const names = detail.faces.filter((f) => f.person).map((f) => f.person.name);
  const unknown = detail.faces.length - names.length;
  $('caption').textContent = [
    new Date(detail.takenAt ?? detail.postedAt).toLocaleDateString(undefined, { dateStyle: 'long' }),
    names.join(', '),
    unknown ? `${unknown} unknown` : '',
  ]
    .filter(Boolean)
    .join(' · ');
  corrections(photo, detail);
  const download = $('download');
  download.href = '#';
  download.onclick = async (event) => {
    event.preventDefault();
    const blob = await api(`/api/original?hash=${photo.hash}`);
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${photo.hash.slice(0, 12)}.${detail.ext}`;
    a.click();
  };
}

/**
 * The shared corrections for each face (src/web/shared/corrections.js): "Not Anna?" (the chat's
 * /notthis), "Move to" and "Who is this?" (its /enroll by reply: a sample of this face for the
 * person typed, which takes the face from whoever had it), with the same rules and audit entries.
 */
function corrections(photo, detail) {
  const unknown = detail.faces.filter((f) => !f.person);
  const refresh = async () => {
    const fresh = await api(`/api/photo?hash=${photo.hash}`);
    drawFaces(fresh, $('large'));
    corrections(photo, fresh);
  };
  const rows = detail.faces.map((face, index) => {
    const label = face.person ? face.person.name : unknown.length > 1 ? `?${unknown.indexOf(face) + 1}` : 'unknown';
    const row = document.createElement('div');
    row.className = 'face-row';
    const who = Object.assign(document.createElement('span'), { className: 'who', textContent: label });
    const actions = {
      notThis: async () => {
        const result = await api('/api/notthis', { method: 'POST', body: JSON.stringify({ hash: photo.hash, person: face.person.id }) });
        // The grid is read again when the member goes back to it.
        if (result.removed.id === state.person) state.stale = true;
        await refresh();
        const now = result.nowFiledUnder.map((p) => p.name).join(', ');
        return `Taken out of ${result.removed.name}'s album; it won't be filed there again.${now ? ` Now filed under ${now}.` : ''}`;
      },
      addTo: async (name) => {
        const result = await api('/api/enroll', { method: 'POST', body: JSON.stringify({ hash: photo.hash, face: index, name }) });
        state.stale = true;
        await loadPeople();
        await refresh();
        return `Added to ${result.person.name}${result.newPerson ? ', a new person' : ''}${result.refiled ? `; ${result.refiled} more photos filed` : ''}.`;
      },
      say: (text, isError = false, confirm) => note(text, isError, confirm),
    };
    row.append(who, ...faceCorrections(face.person ? { name: face.person.name } : {}, String(index), actions, state.names));
    return row;
  });
  $('corrections').replaceChildren(...rows, Object.assign(document.createElement('p'), { id: 'note', role: 'status' }));
}

/** Feedback where the member acted: under the photo (with a button to confirm, when one is asked). */
function note(text, isError = false, confirm) {
  const where = document.getElementById('note');
  if (!where) return;
  where.textContent = text;
  where.classList.toggle('error', isError);
  if (confirm) where.append(' ', confirm);
}

/** The faces boxed on the large view (the shared part), named by the album's people. */
function drawFaces(detail, large) {
  drawFaceBoxes(
    $('frame'),
    large,
    detail.faces.map((f) => ({ box: f.box, ...(f.person ? { name: f.person.name } : {}) })),
    detail.width,
  );
}

/** Telegram's colours, from the theme it passes at launch. */
function applyTheme(json) {
  if (!json) return;
  try {
    for (const [key, value] of Object.entries(JSON.parse(json))) {
      if (/^[a-z_]+$/.test(key) && /^#[0-9a-f]{3,8}$/i.test(String(value)))
        document.documentElement.style.setProperty(`--tg-theme-${key.replaceAll('_', '-')}`, value);
    }
  } catch {
    // A theme that does not parse leaves the page's own colours.
  }
}
