// Sign in (`/signin`): a token (`fitslake token create USER`) kept in this browser's localStorage and
// sent as `Authorization: Bearer …` with every API call. Without one, the visitor is anonymous.
import { ApiError, api, getToken, setToken } from './api.ts';
import { h, replace } from './dom.ts';

export function signinPage(root: HTMLElement, onChange: () => void): () => void {
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'current-password',
    spellcheck: 'false',
    required: true,
  });
  const message = h('p', { role: 'status', 'aria-live': 'polite', class: 'status' });
  const signedIn = getToken() !== null;
  const form = h(
    'form',
    { class: 'signin', 'aria-labelledby': 'h-signin' },
    h('div', { class: 'field' }, h('label', { for: 'token' }, 'Access token'), input),
    h(
      'p',
      { class: 'muted', id: 'token-help' },
      'Ask an administrator for a token (',
      h('code', null, 'fitslake token create USER'),
      '). It is kept in this browser only and sent with every request to this server.',
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Sign in')),
  );
  input.setAttribute('aria-describedby', 'token-help');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    message.textContent = 'Checking the token…';
    try {
      // Any API call checks it: a wrong token is a 401, never anonymous access.
      await api('/api/collections', { token });
      setToken(token);
      onChange();
      replace(root);
      signinPage(root, onChange);
    } catch (err) {
      message.textContent =
        err instanceof ApiError && err.status === 401
          ? 'This token is not valid (unknown, revoked or expired).'
          : `Could not check the token: ${(err as Error).message}`;
      message.classList.add('error');
    }
  });
  replace(
    root,
    h('h1', { id: 'h-signin' }, 'Sign in'),
    signedIn
      ? h(
          'div',
          { class: 'signed-in' },
          h('p', null, 'You are signed in: every request carries your token.'),
          h(
            'button',
            {
              type: 'button',
              onclick: () => {
                setToken(null);
                onChange();
                signinPage(root, onChange);
              },
            },
            'Sign out',
          ),
        )
      : form,
    message,
  );
  return () => {};
}
