/** The fingerprint key is shared by workers and clients; it lives beside the store it keys. */
export * from '../store/fingerprint-key';
