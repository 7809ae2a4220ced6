// @ts-check
// The large view's parts shared by the group's gallery and `facefile ui`'s page: faces boxed and
// labelled over the photo, and a swipe to the next photo. Served by both at /shared/faces.js.

/**
 * Labels for the faces of one photo: a name (with its score when given), else "unknown", or
 * "?1", "?2" when several are unknown, so that a correction can say which face it means.
 * @param {{ name?: string, score?: number }[]} faces
 * @returns {string[]}
 */
export function faceLabels(faces) {
  const unknown = faces.filter((f) => !f.name);
  return faces.map((face) => {
    if (face.name) return face.score === undefined ? face.name : `${face.name} ${face.score.toFixed(2)}`;
    return unknown.length > 1 ? `?${unknown.indexOf(face) + 1}` : 'unknown';
  });
}

/**
 * The faces boxed on the large view: `frame` holds the `large` image, boxes are in the pixels of
 * the photo the view was made from (`photoWidth` wide), scaled to the view as shown.
 * @param {HTMLElement} frame
 * @param {HTMLImageElement} large
 * @param {{ box: { x: number, y: number, width: number, height: number }, name?: string, score?: number, hint?: boolean }[]} faces
 * @param {number} [photoWidth]
 */
export function drawFaceBoxes(frame, large, faces, photoWidth) {
  for (const old of frame.querySelectorAll('.face')) old.remove();
  const scale = large.clientWidth / Math.max(1, photoWidth ?? large.naturalWidth);
  const labels = faceLabels(faces);
  faces.forEach((face, i) => {
    const box = document.createElement('div');
    box.className = face.name ? 'face' : face.hint ? 'face unknown hint' : 'face unknown';
    Object.assign(box.style, {
      left: `${face.box.x * scale}px`,
      top: `${face.box.y * scale}px`,
      width: `${face.box.width * scale}px`,
      height: `${face.box.height * scale}px`,
    });
    const label = document.createElement('span');
    label.textContent = labels[i] ?? '';
    box.append(label);
    frame.append(box);
  });
}

/**
 * Calls `onSwipe(1)` on a swipe to the left (the next photo) and `onSwipe(-1)` to the right.
 * @param {HTMLElement} element
 * @param {(direction: number) => void} onSwipe
 */
export function swipe(element, onSwipe) {
  let x = 0;
  element.addEventListener('touchstart', (event) => (x = event.touches[0]?.clientX ?? 0), { passive: true });
  element.addEventListener('touchend', (event) => {
    const dx = (event.changedTouches[0]?.clientX ?? x) - x;
    if (Math.abs(dx) > 50) onSwipe(dx < 0 ? 1 : -1);
  });
}
