// The Hub downloader against a local Hub on 127.0.0.1 (fake-hub.ts): a full download into an empty
// cache in huggingface_hub's layout, resume after a dropped connection and after a cancel, a corrupted
// file refused and removed, the 401 / 403 / 404 messages, offline mode, the token, the free-space check.
import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { downloadModel, HubError, hubSettings, type HubSettings } from '../../../language-server/src/lib/hub';
import { FakeHub, smallRepo } from './fake-hub';

const root = mkdtempSync(join(tmpdir(), 'loralab-hub-'));
const hub = new FakeHub([
  smallRepo('acme/tiny'),
  { ...smallRepo('acme/big', 2 * 1024 * 1024) },
  { ...smallRepo('acme/gated'), gated: true },
  { ...smallRepo('acme/secret'), private: true },
]);
let cacheDir = '';
let caseNo = 0;

before(async () => {
  await hub.start();
});
after(async () => {
  await hub.stop();
  rmSync(root, { recursive: true, force: true });
});
beforeEach(() => {
  cacheDir = join(root, `cache-${caseNo++}`);
  hub.seen.length = 0;
});

function settings(extra: Partial<HubSettings> = {}): HubSettings {
  return { ...hubSettings({ HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: cacheDir }, root), ...extra };
}

/** How huggingface_hub finds a file: refs/<rev> -> snapshots/<commit>/<file>, a symlink into blobs/. */
function readLikeHuggingfaceHub(repo: string, file: string, revision = 'main'): Buffer {
  const folder = join(cacheDir, `models--${repo.replace('/', '--')}`);
  const commit = readFileSync(join(folder, 'refs', revision), 'utf8');
  const pointer = join(folder, 'snapshots', commit, file);
  assert.ok(lstatSync(pointer).isSymbolicLink(), `${file} is a symlink`);
  const target = readlinkSync(pointer);
  assert.ok(!target.startsWith('/'), `${target} is relative`);
  assert.equal(resolve(dirname(pointer), target), join(folder, 'blobs', target.split('/').pop()!));
  return readFileSync(pointer);
}

test('a full download into an empty cache: training files only, huggingface_hub layout, no leftovers', async () => {
  const repo = smallRepo('acme/tiny');
  const progress: number[] = [];
  const result = await downloadModel({ repo: 'acme/tiny', settings: settings(), onProgress: (p) => progress.push(p.doneBytes) });
  assert.equal(result.commit, repo.commit);
  assert.deepEqual(result.files.map((f) => f.name).sort(), ['config.json', 'model.safetensors', 'tokenizer.json']);
  assert.match(result.skipped.join(), /pytorch_model\.bin \(pickle/);
  for (const name of ['config.json', 'tokenizer.json', 'model.safetensors'])
    assert.deepEqual(readLikeHuggingfaceHub('acme/tiny', name), repo.files[name]);
  const folder = join(cacheDir, 'models--acme--tiny');
  assert.equal(readlinkSync(join(folder, 'snapshots', repo.commit, 'model.safetensors')).startsWith('../../blobs/'), true);
  assert.deepEqual(
    readdirSync(join(folder, 'blobs')).filter((n) => n.endsWith('.incomplete')),
    [],
  );
  assert.deepEqual(readdirSync(join(cacheDir, '.locks', 'models--acme--tiny')), [], 'locks released');
  assert.equal(
    progress.at(-1),
    result.files.reduce((s, f) => s + f.size, 0),
  );
  assert.ok(!hub.seen.some((r) => r.path.includes('pytorch_model.bin') || r.path.includes('README')));
  // the LFS file came from the CDN redirect, and the token never went there
  assert.ok(hub.seen.some((r) => r.path.startsWith('/cdn/')));

  hub.seen.length = 0;
  const again = await downloadModel({ repo: 'acme/tiny', settings: settings() });
  assert.ok(again.files.every((f) => f.fromCache));
  assert.deepEqual(
    hub.seen.map((r) => r.path),
    ['/api/models/acme/tiny/revision/main'],
    'only the listing is fetched again',
  );
});

test('--include takes only the matching files (config.json for the estimate)', async () => {
  const result = await downloadModel({ repo: 'acme/tiny', include: ['config.json'], settings: settings() });
  assert.deepEqual(
    result.files.map((f) => f.name),
    ['config.json'],
  );
  assert.ok(existsSync(join(result.snapshot, 'config.json')));
  assert.ok(!existsSync(join(result.snapshot, 'model.safetensors')));
  await assert.rejects(
    downloadModel({ repo: 'acme/tiny', include: ['*.bin'], settings: settings() }),
    (e: HubError) => e.code === 'EntryNotFound' && /pickle/.test(e.message),
  );
});

test('a dropped connection mid-file is resumed with Range; the result verifies', async () => {
  hub.drops.set('model.safetensors', { after: 300 * 1024, times: 2 });
  const result = await downloadModel({ repo: 'acme/big', settings: settings() });
  const ranges = hub.seen.filter((r) => r.path.startsWith('/cdn/')).map((r) => r.range);
  // each retry resumes where the bytes that arrived end (at most the 300 KiB the server sent each time)
  assert.equal(ranges.length, 3, JSON.stringify(ranges));
  assert.equal(ranges[0], undefined);
  const [first, second] = ranges.slice(1).map((range) => Number(/^bytes=(\d+)-$/.exec(range ?? '')?.[1]));
  assert.ok(first > 0 && first <= 300 * 1024 && second > first && second <= first + 300 * 1024, JSON.stringify(ranges));
  assert.deepEqual(
    readLikeHuggingfaceHub('acme/big', 'model.safetensors'),
    smallRepo('acme/big', 2 * 1024 * 1024).files['model.safetensors'],
  );
  assert.equal(
    result.downloadedBytes,
    2 * 1024 * 1024 + result.files.filter((f) => f.name !== 'model.safetensors').reduce((s, f) => s + f.size, 0),
  );
});

test('a cancelled download keeps the .incomplete blob and the next one resumes from it', async () => {
  const controller = new AbortController();
  await assert.rejects(
    downloadModel({
      repo: 'acme/big',
      settings: settings(),
      signal: controller.signal,
      onProgress: (p) => {
        if (p.file === 'model.safetensors' && p.doneBytes > 512 * 1024) controller.abort();
      },
    }),
    (e: HubError) => e.code === 'Cancelled',
  );
  const blobs = join(cacheDir, 'models--acme--big', 'blobs');
  const partial = readdirSync(blobs).find((n) => n.endsWith('.incomplete'));
  assert.ok(partial, 'partial blob kept');
  hub.seen.length = 0;
  await downloadModel({ repo: 'acme/big', settings: settings() });
  const range = hub.seen.find((r) => r.path.startsWith('/cdn/'))?.range;
  assert.match(range ?? '', /^bytes=\d+-$/);
  assert.ok(Number(/\d+/.exec(range!)![0]) > 0);
  assert.deepEqual(
    readLikeHuggingfaceHub('acme/big', 'model.safetensors'),
    smallRepo('acme/big', 2 * 1024 * 1024).files['model.safetensors'],
  );
});

test('a corrupted file is refused (sha256 of X-Linked-Etag) and removed', async () => {
  hub.corrupt.add('model.safetensors');
  try {
    await assert.rejects(
      downloadModel({ repo: 'acme/tiny', settings: settings(), retries: 0 }),
      (e: HubError) => e.code === 'Checksum' && /model\.safetensors.*sha256.*removed/.test(e.message),
    );
  } finally {
    hub.corrupt.delete('model.safetensors');
  }
  const blobs = join(cacheDir, 'models--acme--tiny', 'blobs');
  const sha = readdirSync(blobs).filter((n) => n.length >= 64);
  assert.deepEqual(sha, [], 'neither the blob nor its .incomplete is left');
  const commit = smallRepo('acme/tiny').commit;
  assert.ok(!existsSync(join(cacheDir, 'models--acme--tiny', 'snapshots', commit, 'model.safetensors')));
});

test('401 / 403 / 404 are told apart by X-Error-Code, with what to do', async () => {
  const codeOf = async (repo: string, extra: Partial<HubSettings> = {}) => {
    try {
      await downloadModel({ repo, settings: settings(extra) });
      return 'ok';
    } catch (error) {
      return `${(error as HubError).code}: ${(error as HubError).status}: ${(error as Error).message}`;
    }
  };
  assert.match(await codeOf('acme/secret'), /^RepoNotFound: 401: acme\/secret was not found, or it is private: check the id and HF_TOKEN/);
  assert.match(await codeOf('acme/nothing'), /^RepoNotFound: 404: .*not found, or it is private/);
  assert.match(
    await codeOf('acme/gated'),
    /^GatedRepo: 403: acme\/gated is a gated model: accept the license on the model page \(http:\/\/127\.0\.0\.1:\d+\/acme\/gated\) and set HF_TOKEN/,
  );
  assert.match(await codeOf('acme/tiny@v9'), /^RevisionNotFound: 404: revision v9 of acme\/tiny was not found/);
  assert.match(await codeOf('acme/gated', { token: hub.token }), /^ok$/, 'the token opens a gated repo');
  assert.ok(
    hub.seen.filter((r) => r.path.startsWith('/cdn/')).every((r) => r.authorization === undefined),
    'the token is not sent to the CDN',
  );
  assert.match(await codeOf('not a repo'), /^BadRequest/);
});

test('HF_HUB_OFFLINE: served from the cache, refused when not cached, no request either way', async () => {
  await assert.rejects(
    downloadModel({ repo: 'acme/tiny', settings: settings({ offline: true }) }),
    (e: HubError) => e.code === 'Offline' && /HF_HUB_OFFLINE is set and acme\/tiny@main is not in the cache/.test(e.message),
  );
  assert.deepEqual(hub.seen, []);
  await downloadModel({ repo: 'acme/tiny', settings: settings() });
  hub.seen.length = 0;
  const cached = await downloadModel({ repo: 'acme/tiny', settings: settings({ offline: true }) });
  assert.equal(cached.commit, smallRepo('acme/tiny').commit);
  assert.deepEqual(hub.seen, []);
});

test('the free-space check runs before any file is fetched', async () => {
  await assert.rejects(
    downloadModel({ repo: 'acme/tiny', settings: settings(), freeBytes: () => 1000 }),
    (e: HubError) => e.code === 'DiskFull' && /needs \d+ more bytes but only 1000 are free/.test(e.message),
  );
  assert.deepEqual(
    hub.seen.map((r) => r.path),
    ['/api/models/acme/tiny/revision/main'],
  );
});

test('two downloads of one repo at once: each blob is fetched once (the other waits on .locks/)', async () => {
  const [a, b] = await Promise.all([
    downloadModel({ repo: 'acme/big', settings: settings() }),
    downloadModel({ repo: 'acme/big', settings: settings() }),
  ]);
  assert.equal(a.commit, b.commit);
  assert.equal(hub.seen.filter((r) => r.path.startsWith('/cdn/')).length, 1, 'the weights were fetched once');
  assert.equal([...a.files, ...b.files].filter((f) => f.name === 'model.safetensors' && f.fromCache).length, 1);
  assert.deepEqual(
    readLikeHuggingfaceHub('acme/big', 'model.safetensors'),
    smallRepo('acme/big', 2 * 1024 * 1024).files['model.safetensors'],
  );
});

test('HTTP_PROXY: requests go through the proxy (absolute-form), NO_PROXY bypasses it', async () => {
  const proxied: string[] = [];
  const proxy = createServer((req, res) => {
    proxied.push(req.url ?? '');
    const target = new URL(req.url ?? '');
    const upstream = httpRequest(target, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
  try {
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    await downloadModel({ repo: 'acme/tiny', include: ['config.json'], settings: settings({ proxy: { http: proxyUrl, noProxy: [] } }) });
    assert.deepEqual(proxied, [
      `${hub.endpoint}/api/models/acme/tiny/revision/main?blobs=true`,
      `${hub.endpoint}/acme/tiny/resolve/${smallRepo('acme/tiny').commit}/config.json`,
    ]);
    proxied.length = 0;
    rmSync(cacheDir, { recursive: true, force: true });
    await downloadModel({
      repo: 'acme/tiny',
      include: ['config.json'],
      settings: settings({ proxy: { http: proxyUrl, noProxy: ['127.0.0.1'] } }),
    });
    assert.deepEqual(proxied, []);
  } finally {
    proxy.closeAllConnections();
    await new Promise<void>((done) => proxy.close(() => done()));
  }
});

test('settings from the environment: endpoint, token file, offline, cache folder', () => {
  const s = hubSettings(
    {
      HF_ENDPOINT: 'http://127.0.0.1:9/',
      HF_HOME: join(root, 'nohome'),
      HF_HUB_OFFLINE: '1',
      HTTPS_PROXY: 'http://127.0.0.1:3128',
      no_proxy: 'localhost,.internal',
    },
    root,
  );
  assert.deepEqual(
    [s.endpoint, s.token, s.offline, s.cacheDir, s.proxy.https, s.proxy.noProxy],
    ['http://127.0.0.1:9', undefined, true, join(root, 'nohome', 'hub'), 'http://127.0.0.1:3128', ['localhost', '.internal']],
  );
  assert.equal(hubSettings({ HF_TOKEN: ' hf_x ' }, root).token, 'hf_x');
});
