// @ts-check
// The little of Telegram's Mini App bridge the gallery uses, without loading Telegram's script
// (the page's CSP allows nothing from other origins): tell the client the page is ready, and show
// its native back button when there is somewhere to go back to. Methods go out the way each
// client takes them (the mobile and desktop apps' TelegramWebviewProxy, else postMessage to
// web.telegram.org's frame); events come in through window.Telegram.WebView.receiveEvent, or as
// messages from that frame. Outside Telegram (a Discord link, a plain browser) nothing is sent.

const WEB_CLIENT = 'https://web.telegram.org';
/** @type {Map<string, Set<(data: unknown) => void>>} */
const listeners = new Map();
let inTelegram = false;

/**
 * Calls a Mini App method (`web_app_ready`, `web_app_setup_back_button`, ...).
 * @param {string} type
 * @param {object} [data]
 */
export function postEvent(type, data) {
  if (!inTelegram) return;
  const proxy = /** @type {any} */ (window).TelegramWebviewProxy;
  if (proxy && typeof proxy.postEvent === 'function') return proxy.postEvent(type, JSON.stringify(data ?? {}));
  if (window.parent !== window) window.parent.postMessage(JSON.stringify({ eventType: type, eventData: data ?? {} }), WEB_CLIENT);
}

/**
 * Calls `listener` on each event `type` the client sends (`back_button_pressed`, `theme_changed`).
 * @param {string} type
 * @param {(data: unknown) => void} listener
 */
export function on(type, listener) {
  const set = listeners.get(type) ?? new Set();
  set.add(listener);
  listeners.set(type, set);
}

/** @param {string} type @param {unknown} data */
function receive(type, data) {
  for (const listener of listeners.get(type) ?? []) listener(data);
}

/** Starts the bridge when the page was launched by Telegram (its launch data was in the fragment). */
export function startTelegram() {
  inTelegram = true;
  const w = /** @type {any} */ (window);
  w.Telegram = { ...w.Telegram, WebView: { receiveEvent: receive } };
  addEventListener('message', (event) => {
    if (event.origin !== WEB_CLIENT || typeof event.data !== 'string') return;
    try {
      const { eventType, eventData } = JSON.parse(event.data);
      if (typeof eventType === 'string') receive(eventType, eventData);
    } catch {
      // Not one of the client's messages.
    }
  });
  postEvent('web_app_ready');
}

/**
 * Shows or hides the client's back button; a no-op outside Telegram.
 * @param {boolean} visible
 */
export function backButton(visible) {
  postEvent('web_app_setup_back_button', { is_visible: visible });
}

export function insideTelegram() {
  return inTelegram;
}
