/** How the interning maps keep a DID (layout.ts): a did:plc in 16 bytes, any other as its text. */
import { Buffer } from "node:buffer";

const B32 = "abcdefghijklmnopqrstuvwxyz234567";
const PLC = /^did:plc:[a-z2-7]{24}$/;

/** How the interning maps keep a DID: a did:plc as 16 bytes, any other as its text. */
export function didKey(did: string): Buffer | string {
  if (!PLC.test(did)) return did;
  const out = Buffer.alloc(16);
  // Three groups of 8 letters, 40 bits each, into 5 bytes each after the leading zero.
  for (let g = 0; g < 3; g++) {
    let v = 0;
    for (let c = 0; c < 8; c++) v = v * 32 + B32.indexOf(did[8 + g * 8 + c]);
    for (let b = 4; b >= 0; b--) {
      out[1 + g * 5 + b] = v % 256;
      v = Math.floor(v / 256);
    }
  }
  return out;
}

/** The DID a key of the interning maps stands for. */
export function didOfKey(key: Uint8Array): string {
  if (key.length !== 16 || key[0] !== 0) return new TextDecoder().decode(key);
  let did = "did:plc:";
  for (let g = 0; g < 3; g++) {
    let v = 0;
    for (let b = 0; b < 5; b++) v = v * 256 + key[1 + g * 5 + b];
    let letters = "";
    for (let c = 0; c < 8; c++) {
      letters = B32[v % 32] + letters;
      v = Math.floor(v / 32);
    }
    did += letters;
  }
  return did;
}
