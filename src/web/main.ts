// The fitslake web interface: a small client-side router over three pages (Explore, an observation,
// Sign in). Links marked data-nav change pages without reloading.
import './style.css';
import { getToken } from './api.ts';
import { explorePage } from './explore.ts';
import { observationPage } from './observation.ts';
import { signinPage } from './signin.ts';

const main = document.getElementById('main') as HTMLElement;
let cleanup: () => void = () => {};

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
  else if (path === '/signin' || path === '/signin/')
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
