// The media type of a Content-Type header, without parameters.

/** `application/json; charset=utf-8` → `application/json`; undefined without a header. */
export function mediaType(header: string | string[] | null | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.split(';', 1)[0]!.trim().toLowerCase();
}
