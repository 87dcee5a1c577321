// Error messages quote connection strings and config values, and go to terminals, CI logs and
// error trackers: one rule for what of a credential may show, for the config and the drivers.

/**
 * `text` without the credentials a URL or connection string may carry: a URL's user info becomes
 * `***` (up to the last `@` before a space, since an unencoded password may hold `/`, `#` or `@`),
 * and the value of a `password=`-like parameter too:
 * `postgres://app:s3cret@db/app?sslpassword=x` → `postgres://***@db/app?sslpassword=***`.
 */
export function withoutCredentials(text: string): string {
  return text
    .replace(/([A-Za-z][A-Za-z0-9+.-]*:\/\/)\S*@/g, '$1***@')
    .replace(/\b(\w*(?:pass|pwd|secret|token|key|credential|auth)\w*)=[^&;\s]*/gi, '$1=***');
}
