// One render per animation frame, however many feed frames arrived in it.
let pending = false;
let renderer = () => {};
export let renders = 0;

export function setRenderer(fn) { renderer = fn; }

export function scheduleRender() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    renders++;
    renderer();
  });
}
