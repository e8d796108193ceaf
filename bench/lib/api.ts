/** The few OnePic API calls the benchmarks make to set up users and pictures, over HTTP. */

export interface BenchUser {
  name: string;
  token: string;
}

/** Creates an account; resolves with its bearer token. */
export async function register(base: string, username: string): Promise<string> {
  const r = await fetch(`${base}/api/v1/users`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password: `bench password ${username}` }),
  });
  const body = (await r.json().catch(() => ({}))) as { token?: string };
  if ((r.status !== 201 && r.status !== 200) || !body.token) throw new Error(`register ${username}: ${r.status} ${JSON.stringify(body)}`);
  return body.token;
}

/** Uploads a picture and makes it the active one; resolves with the status. */
export async function uploadPicture(base: string, user: BenchUser, image: Uint8Array, contentType = 'image/jpeg'): Promise<number> {
  const r = await fetch(`${base}/api/v1/users/${user.name}/pictures?active=true`, {
    method: 'POST', headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': contentType }, body: image,
  });
  await r.arrayBuffer();
  return r.status;
}

/** The pictures of a user, as the API lists them. */
export async function listPictures(base: string, user: BenchUser): Promise<Array<{ width: number }>> {
  const r = await fetch(`${base}/api/v1/users/${user.name}/pictures`, { headers: { Authorization: `Bearer ${user.token}` } });
  const body = (await r.json()) as { pictures?: Array<{ width: number }> };
  if (r.status !== 200 || !body.pictures) throw new Error(`list pictures of ${user.name}: ${r.status}`);
  return body.pictures;
}

/** Runs `work` over 0..n-1 with `concurrency` in flight; starts no new item after `deadline` (ms since epoch). */
export async function inParallel(
  n: number, concurrency: number, work: (i: number) => Promise<void>,
  options: { deadline?: number; progress?: (done: number) => void } = {},
): Promise<number> {
  let next = 0;
  let done = 0;
  let lastProgress = Date.now();
  const deadline = options.deadline ?? Number.POSITIVE_INFINITY;
  const loop = async (): Promise<void> => {
    while (next < n && Date.now() < deadline) {
      await work(next++);
      done++;
      if (options.progress && Date.now() - lastProgress > 5000) { lastProgress = Date.now(); options.progress(done); }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return done;
}
