// The fitslake web interface: a small client-side router over its pages (Explore, an observation,
// the SQL / ADQL console, Upload, Browse (the lake's folders), the sky map, the dashboard, Sign in). Links marked data-nav change pages without reloading.
// The console, Upload, Browse, the sky map and the dashboard are separate chunks, loaded when first visited.
import './style.css';
import { getToken } from './api.ts';
import { explorePage } from './explore.ts';
import { observationPage } from './observation.ts';
import { signinPage } from './signin.ts';

const main = document.getElementById('main') as HTMLElement;
let cleanup: () => void = () => {};
let generation = 0;

/** A page from a lazily loaded chunk: shown once loaded, unless the user moved on meanwhile. */
function lazy(load: () => Promise<(root: HTMLElement) => () => void>): () => void {
  const mine = ++generation;
  let stop: (() => void) | null = null;
  let gone = false;
  main.replaceChildren(
    Object.assign(document.createElement('p'), { className: 'status', textContent: 'Loading…' }),
  );
  load()
    .then((page) => {
      if (gone || mine !== generation) return;
      stop = page(main);
    })
    .catch((err: Error) => {
      if (gone || mine !== generation) return;
      main.replaceChildren(
        Object.assign(document.createElement('p'), {
          className: 'error',
          role: 'alert',
          textContent: `This page could not be loaded: ${err.message}`,
        }),
      );
    });
  return () => {
    gone = true;
    stop?.();
  };
}

function updateNav() {
  const link = document.getElementById('signin-link');
  if (link) link.textContent = getToken() ? 'Signed in' : 'Sign in';
  const path = location.pathname;
  for (const a of Array.from(document.querySelectorAll<HTMLAnchorElement>('header nav a'))) {
    const here =
      a.getAttribute('href') === '/' ? path === '/' : path.startsWith(a.getAttribute('href') ?? '');
    if (here) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function navigate(url: string, state: { depth?: number } = {}) {
  history.pushState({ depth: state.depth ?? 0 }, '', url);
  render(true);
}

function render(moved = false) {
  cleanup();
  document.title = 'fitslake';
  const path = location.pathname;
  const depth = (history.state as { depth?: number } | null)?.depth ?? 0;
  const obs = /^\/obs\/([^/]+)\/?$/.exec(path);
  if (path === '/' || path === '')
    cleanup = explorePage(main, new URLSearchParams(location.search), navigate, depth);
  else if (obs) cleanup = observationPage(main, decodeURIComponent(obs[1]));
  else if (path === '/sql' || path === '/sql/') {
    document.title = 'SQL / ADQL — fitslake';
    cleanup = lazy(() => import('./sql.ts').then((m) => m.sqlPage));
  } else if (path === '/upload' || path === '/upload/') {
    document.title = 'Upload — fitslake';
    cleanup = lazy(() => import('./upload.ts').then((m) => m.uploadPage));
  } else if (path === '/browse' || path === '/browse/') {
    document.title = 'Browse — fitslake';
    const params = new URLSearchParams(location.search);
    cleanup = lazy(() =>
      import('./browse.ts').then((m) => (root: HTMLElement) => m.browsePage(root, params, navigate)),
    );
  } else if (path === '/sky' || path === '/sky/') {
    document.title = 'Sky map — fitslake';
    const params = new URLSearchParams(location.search);
    cleanup = lazy(() =>
      import('./sky.ts').then((m) => (root: HTMLElement) => m.skyPage(root, params, navigate)),
    );
  } else if (path === '/dashboard' || path === '/dashboard/') {
    document.title = 'Dashboard — fitslake';
    cleanup = lazy(() => import('./dashboard.ts').then((m) => m.dashboardPage));
  } else if (path === '/signin' || path === '/signin/')
    cleanup = signinPage(main, () => {
      updateNav();
    });
  else {
    main.replaceChildren();
    main.append(Object.assign(document.createElement('h1'), { textContent: 'Page not found' }));
    cleanup = () => {};
  }
  updateNav();
  if (moved) {
    window.scrollTo(0, 0);
    // Move focus to the new page for screen-reader and keyboard users.
    main.focus({ preventScroll: true });
  }
}

document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as Element | null)?.closest?.('a[data-nav]') as HTMLAnchorElement | null;
  if (!a || a.origin !== location.origin) return;
  e.preventDefault();
  navigate(a.pathname + a.search);
});
window.addEventListener('popstate', () => render(true));
render();
