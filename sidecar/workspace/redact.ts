/**
 * Removes credentials from remote URLs in text: `https://user:token@host/...` becomes
 * `https://***@host/...`. Git echoes remote URLs in errors and `git remote get-url`, and a token
 * in a URL must never reach a log, a result or the hub.
 */
export function redactUrlCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@');
}
