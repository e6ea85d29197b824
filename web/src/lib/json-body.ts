/**
 * The OpenAPI document describes the project documents as a bare `object`, which the generated
 * types read as "no properties allowed"; this marks such a body as intentionally free-form.
 */
export function jsonBody(value: object): Record<string, never> {
  return value as Record<string, never>;
}
