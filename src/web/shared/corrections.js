// @ts-check
// The corrections offered on one face of an opened photo, the same on the group's gallery and on
// `facefile ui`'s page: a named face gets "Not Anna?" and "Move to"; a near miss "Is this Anna?"
// with Yes and No; a face nobody is named in "Who is this?". What each does is the page's (its
// server's routes); how it is offered, and how a name that is known already is confirmed, is here.

/**
 * @typedef {{ name?: string, suggestion?: string }} FaceForCorrection
 *   `name`: who the face is filed under; `suggestion`: who it may be (a near miss).
 * @typedef {{
 *   notThis?: (name: string) => Promise<string>,
 *   addTo: (name: string, merge: boolean) => Promise<string>,
 *   say: (text: string, isError?: boolean, confirm?: HTMLElement) => void,
 * }} CorrectionActions
 *   Each action resolves with what to tell the user, or throws an Error whose `exists` (when set)
 *   names the known person a typed name already is, to be confirmed before adding to them.
 */

/**
 * The controls for one face. `key` keeps the form's id apart from other faces'; `names` are the
 * known people offered as the user types.
 * @param {FaceForCorrection} face
 * @param {string} key
 * @param {CorrectionActions} act
 * @param {readonly string[]} [names]
 * @returns {HTMLElement[]}
 */
export function faceCorrections(face, key, act, names = []) {
  const run = async (/** @type {() => Promise<string>} */ action, /** @type {(name: string) => Promise<string>} */ again) => {
    try {
      act.say(await action());
    } catch (error) {
      const existing = /** @type {{ exists?: unknown }} */ (error).exists;
      const message = error instanceof Error ? error.message : String(error);
      if (typeof existing === 'string') {
        const yes = button(`Yes, add to ${existing}`, () => run(() => again(existing), again));
        act.say(message, true, yes);
      } else act.say(message, true);
    }
  };
  const addTo = (/** @type {string} */ name) => act.addTo(name, true);
  const nameForm = (/** @type {string} */ label, /** @type {string} */ placeholder) => {
    const form = document.createElement('form');
    form.className = 'name-form';
    const id = `face-name-${key}`;
    const labelElement = Object.assign(document.createElement('label'), { htmlFor: id, textContent: label });
    const input = Object.assign(document.createElement('input'), { id, name: 'name', required: true, maxLength: 64, autocomplete: 'off', placeholder });
    if (names.length > 0) {
      const list = document.createElement('datalist');
      list.id = `${id}-names`;
      for (const name of names) list.append(Object.assign(document.createElement('option'), { value: name }));
      input.setAttribute('list', list.id);
      form.append(list);
    }
    form.append(labelElement, input, Object.assign(document.createElement('button'), { type: 'submit', textContent: 'Save' }));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void run(() => act.addTo(input.value.trim(), false), addTo);
    });
    return form;
  };
  if (face.name !== undefined) {
    const named = face.name;
    return [
      ...(act.notThis ? [button(`Not ${named}?`, () => run(() => /** @type {NonNullable<typeof act.notThis>} */ (act.notThis)(named), addTo))] : []),
      nameForm('Move to', 'Who it is'),
    ];
  }
  if (face.suggestion !== undefined) {
    const maybe = face.suggestion;
    return [
      Object.assign(document.createElement('span'), { className: 'ask', textContent: `Is this ${maybe}?` }),
      button('Yes', () => run(() => act.addTo(maybe, true), addTo)),
      ...(act.notThis ? [button('No', () => run(() => /** @type {NonNullable<typeof act.notThis>} */ (act.notThis)(maybe), addTo))] : []),
    ];
  }
  return [nameForm('Who is this?', 'Their name')];
}

/**
 * @param {string} text
 * @param {() => unknown} onClick
 */
function button(text, onClick) {
  const element = Object.assign(document.createElement('button'), { type: 'button', textContent: text });
  element.addEventListener('click', () => {
    element.disabled = true;
    Promise.resolve(onClick()).finally(() => (element.disabled = false));
  });
  return element;
}
