/**
 * The one serialization a signature covers: JSON with object keys sorted (by UTF-16 code units, as
 * `Array.prototype.sort` does), no whitespace, and the number and string forms of `JSON.stringify`.
 * Two documents with the same content give the same bytes however they were indented or ordered, so
 * a manifest pretty-printed, re-read or re-serialized by another tool still verifies.
 */
export function canonicalJson(value: unknown): string {
  return serialize(value, '');
}

function serialize(value: unknown, where: string): string {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') value = (value as { toJSON: () => unknown }).toJSON();
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      // NaN and Infinity would become null and silently change what was signed.
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON: ${where || 'value'} is ${value}, which JSON cannot hold`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((item, index) => (item === undefined || typeof item === 'function' ? 'null' : serialize(item, `${where}[${index}]`))).join(',')}]`;
      const record = value as Record<string, unknown>;
      const members: string[] = [];
      for (const key of Object.keys(record).sort()) {
        const member = record[key];
        if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
        members.push(`${JSON.stringify(key)}:${serialize(member, where ? `${where}.${key}` : key)}`);
      }
      return `{${members.join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON: ${where || 'value'} is a ${typeof value}, which JSON cannot hold`);
  }
}
