/**
 * Redis Cluster hash slots, computed the way Redis does (CRC16/XMODEM of the key, or of its
 * `{hash tag}`, modulo 16384), so callers can group keys and channels by slot or by node
 * without a round trip. Checked against `CLUSTER KEYSLOT` in the cluster test.
 */
export const SLOTS = 16384;

const TABLE = Uint16Array.from({ length: 256 }, (_, i) => {
  let c = i << 8;
  for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
  return c;
});

const encoder = new TextEncoder();

/** The part of a key that is hashed: the first non-empty `{…}`, else the whole key. */
function hashed(key: string): string {
  const open = key.indexOf("{");
  if (open < 0) return key;
  const close = key.indexOf("}", open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

export function slotOf(key: string): number {
  let crc = 0;
  for (const byte of encoder.encode(hashed(key))) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ byte) & 0xff]!;
  return crc % SLOTS;
}
