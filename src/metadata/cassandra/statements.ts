/**
 * Every CQL statement of the Cassandra store, for one keyspace. All run prepared: the driver
 * prepares each on first use, caches it, and prepares it again on a node that restarted.
 *
 * Every write to `users` is a Paxos (IF ...) write. Mixing Paxos and plain writes in one
 * partition is unsafe: a plain write carries the client's clock as its timestamp, a Paxos write
 * its ballot's, and the later timestamp wins whatever the real order was.
 */

/** The clustering row's columns, in the order `toPicture` reads them. */
const PICTURE_COLUMNS = 'picture_id, label, hash, format, has_alpha, width, height, bytes, picture_created_at';

const PICTURE_SET = 'label = ?, hash = ?, format = ?, has_alpha = ?, width = ?, height = ?, bytes = ?, picture_created_at = ?, last_picture_id = ?';

export function statements(ks: string) {
  const users = `${ks}.users`;
  const tokens = `${ks}.tokens`;
  return {
    // Static columns only: IF NOT EXISTS asks whether the partition has its static row, i.e.
    // whether the account exists, however many (or few) pictures it has.
    createUser: `INSERT INTO ${users} (username, uid, password_hash, created_at) VALUES (?, ?, ?, ?) IF NOT EXISTS`,
    // LIMIT 1: the static columns repeat on every clustering row.
    getUser: `SELECT uid, password_hash, created_at, active_picture_id FROM ${users} WHERE username = ? LIMIT 1`,
    statics: `SELECT uid, active_picture_id, last_picture_id FROM ${users} WHERE username = ? LIMIT 1`,
    partition: `SELECT uid, last_picture_id, ${PICTURE_COLUMNS} FROM ${users} WHERE username = ?`,
    // Account deletion is a conditional batch of these two: Cassandra refuses a condition on a
    // whole-partition delete, but accepts one on a static-column delete batched with it. One
    // partition tombstone then removes the account and every picture at once.
    deletePartition: `DELETE FROM ${users} WHERE username = ?`,
    deleteAccountIf: `DELETE uid FROM ${users} WHERE username = ? IF uid = ? AND last_picture_id = ?`,

    // UPDATE rather than INSERT: INSERT takes no condition but IF NOT EXISTS, and the condition
    // that matters is on the account (the static uid). Every column is set, so the row lives
    // without the row marker an INSERT would add.
    insertPicture: `UPDATE ${users} SET ${PICTURE_SET} WHERE username = ? AND picture_id = ? IF uid = ?`,
    insertActivePicture: `UPDATE ${users} SET ${PICTURE_SET}, active_picture_id = ? WHERE username = ? AND picture_id = ? IF uid = ?`,
    listPictures: `SELECT ${PICTURE_COLUMNS} FROM ${users} WHERE username = ?`,
    getPicture: `SELECT ${PICTURE_COLUMNS} FROM ${users} WHERE username = ? AND picture_id = ?`,
    // The row's statics come with it: the active pointer as seen together with the picture.
    pictureWithActive: `SELECT active_picture_id, ${PICTURE_COLUMNS} FROM ${users} WHERE username = ? AND picture_id = ?`,
    hashes: `SELECT hash FROM ${users} WHERE username = ?`,

    // Conditions on `label` (never null on a live row) mean "the picture exists and is as I
    // read it", so the picture the method returns is the one the write applied to.
    updateLabel: `UPDATE ${users} SET label = ? WHERE username = ? AND picture_id = ? IF label = ?`,
    setActive: `UPDATE ${users} SET active_picture_id = ? WHERE username = ? AND picture_id = ? IF label = ?`,
    // The pointer is part of the condition even when it names another picture: otherwise a
    // concurrent set-active of this picture could land between the read and the delete and be
    // left pointing at nothing.
    deletePicture: `DELETE FROM ${users} WHERE username = ? AND picture_id = ? IF label = ? AND active_picture_id = ?`,
    // Batched with deletePicture (same partition) when the picture is the active one.
    clearActiveInBatch: `UPDATE ${users} SET active_picture_id = null WHERE username = ?`,
    clearActive: `UPDATE ${users} SET active_picture_id = null WHERE username = ? IF EXISTS`,

    // Tokens: plain writes with a TTL, so Cassandra drops expired ones by itself.
    putToken: `INSERT INTO ${tokens} (token_hash, username, uid, created_at, expires_at) VALUES (?, ?, ?, ?, ?) USING TTL ?`,
    getToken: `SELECT token_hash, username, uid, created_at, expires_at FROM ${tokens} WHERE token_hash = ?`,
    deleteToken: `DELETE FROM ${tokens} WHERE token_hash = ?`,
    putUserToken: `INSERT INTO ${ks}.user_tokens (username, uid, token_hash) VALUES (?, ?, ?) USING TTL ?`,
    userTokens: `SELECT token_hash FROM ${ks}.user_tokens WHERE username = ? AND uid = ?`,
    deleteUserTokens: `DELETE FROM ${ks}.user_tokens WHERE username = ? AND uid = ?`,

    ping: 'SELECT release_version FROM system.local',
  };
}

export type Statements = ReturnType<typeof statements>;
