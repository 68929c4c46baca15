// The manufacturer keys a device pins: read from a key file or the server's key list, in
// signing/ where `fota package verify` reads them too (one reader for both formats).
export { parseTrust, readPinnedRoot, readTrust, withOfflineRoot } from '../signing/trust-file.ts';
