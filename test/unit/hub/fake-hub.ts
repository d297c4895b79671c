// A local Hugging Face Hub for the downloader tests, on 127.0.0.1 only: model info with siblings
// (?blobs=true: LFS sizes and sha256s), resolve/<rev>/<file> with the Hub's headers (X-Repo-Commit,
// ETag, X-Linked-Etag, X-Linked-Size) and a redirect to a "CDN" path for LFS files, Range, the
// X-Error-Code errors, and switches to drop a connection mid-file or corrupt a file.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRepo {
  repo: string;
  commit: string;
  /** Branches and tags -> commit ('main' is the commit unless set). */
  refs?: Record<string, string>;
  files: Record<string, Buffer>;
  gated?: boolean;
  private?: boolean;
}

export interface SeenRequest {
  path: string;
  range?: string;
  authorization?: string;
}

const isLfs = (name: string) => /\.(safetensors|bin)$/.test(name);
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const gitSha1 = (data: Buffer) => createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');

export class FakeHub {
  readonly seen: SeenRequest[] = [];
  /** File name -> bytes after which the next N responses of that file drop the connection. */
  readonly drops = new Map<string, { after: number; times: number }>();
  /** Files served with one byte flipped. */
  readonly corrupt = new Set<string>();
  /** The token that opens private and gated repos. */
  token = 'hf_test_token';
  private server!: Server;
  /** The "CDN" LFS files are redirected to: another port, so another host for the token rule. */
  private cdn!: Server;
  private readonly repos = new Map<string, FakeRepo>();

  constructor(repos: FakeRepo[]) {
    for (const repo of repos) this.repos.set(repo.repo, repo);
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.cdn = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
    await new Promise<void>((done) => this.cdn.listen(0, '127.0.0.1', done));
    return this;
  }

  async stop(): Promise<void> {
    for (const server of [this.server, this.cdn]) {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    }
  }

  private fail(res: ServerResponse, status: number, code?: string): void {
    res.writeHead(status, code ? { 'x-error-code': code, 'x-error-message': `${code} (fake hub)` } : {});
    res.end(JSON.stringify({ error: code ?? 'error' }));
  }

  private authorized(req: IncomingMessage): boolean {
    return req.headers.authorization === `Bearer ${this.token}`;
  }

  /** The repo of a request, or an answer already sent. */
  private repoOf(req: IncomingMessage, res: ServerResponse, id: string): FakeRepo | null {
    const repo = this.repos.get(id);
    if (!repo || (repo.private && !this.authorized(req))) {
      this.fail(res, repo ? 401 : 404, 'RepoNotFound');
      return null;
    }
    if (repo.gated && !this.authorized(req)) {
      this.fail(res, 403, 'GatedRepo');
      return null;
    }
    return repo;
  }

  private commitOf(repo: FakeRepo, revision: string): string | null {
    if (revision === repo.commit) return repo.commit;
    return { main: repo.commit, ...repo.refs }[revision] ?? null;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = decodeURIComponent(url.pathname);
    this.seen.push({ path, range: req.headers.range, authorization: req.headers.authorization });
    const info = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/(.+)$/.exec(path);
    if (info) {
      const repo = this.repoOf(req, res, info[1]);
      if (!repo) return;
      const commit = this.commitOf(repo, info[2]);
      if (!commit) return this.fail(res, 404, 'RevisionNotFound');
      const blobs = url.searchParams.get('blobs') === 'true';
      const siblings = Object.entries(repo.files).map(([name, data]) => ({
        rfilename: name,
        ...(blobs ? { blobId: gitSha1(data), size: data.length } : {}),
        ...(blobs && isLfs(name) ? { lfs: { sha256: sha256(data), size: data.length, pointerSize: 134 } } : {}),
      }));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: repo.repo, sha: commit, gated: repo.gated ? 'manual' : false, private: !!repo.private, siblings }));
      return;
    }
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (resolve) {
      const repo = this.repoOf(req, res, resolve[1]);
      if (!repo) return;
      const commit = this.commitOf(repo, resolve[2]);
      if (!commit) return this.fail(res, 404, 'RevisionNotFound');
      const data = repo.files[resolve[3]];
      if (!data) return this.fail(res, 404, 'EntryNotFound');
      if (isLfs(resolve[3])) {
        res.writeHead(302, {
          location: `http://127.0.0.1:${(this.cdn.address() as AddressInfo).port}/cdn/${sha256(data)}/${resolve[3]}`,
          'x-repo-commit': commit,
          'x-linked-etag': `"${sha256(data)}"`,
          'x-linked-size': String(data.length),
          etag: `"${gitSha1(Buffer.from('pointer'))}"`,
        });
        res.end();
        return;
      }
      return this.serve(req, res, resolve[3], data, { 'x-repo-commit': commit, etag: `"${gitSha1(data)}"` });
    }
    const cdn = /^\/cdn\/([0-9a-f]{64})\/(.+)$/.exec(path);
    if (cdn) {
      if (req.headers.authorization) return this.fail(res, 400, 'TokenSentToCdn');
      const data = [...this.repos.values()].flatMap((repo) => Object.values(repo.files)).find((file) => sha256(file) === cdn[1]);
      if (!data) return this.fail(res, 404);
      return this.serve(req, res, cdn[2], data, {});
    }
    this.fail(res, 404);
  }

  private serve(req: IncomingMessage, res: ServerResponse, name: string, original: Buffer, headers: Record<string, string>): void {
    let data = original;
    if (this.corrupt.has(name)) {
      data = Buffer.from(original);
      data[data.length >> 1] ^= 0xff;
    }
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) {
      start = Number(range[1]);
      if (start >= data.length) {
        res.writeHead(416, { 'content-range': `bytes */${data.length}` });
        res.end();
        return;
      }
      res.writeHead(206, {
        ...headers,
        'content-length': String(data.length - start),
        'content-range': `bytes ${start}-${data.length - 1}/${data.length}`,
      });
    } else {
      res.writeHead(200, { ...headers, 'content-length': String(data.length) });
    }
    const drop = this.drops.get(name);
    if (drop && drop.times > 0) {
      drop.times--;
      res.write(data.subarray(start, start + drop.after), () => res.socket?.end());
      return;
    }
    res.end(data.subarray(start));
  }
}

/** Repo contents like a small Llama checkpoint: config, tokenizer, an LFS weights file, a pickle, a README. */
export function smallRepo(repo: string, weightsBytes = 256 * 1024): FakeRepo {
  const weights = Buffer.alloc(weightsBytes);
  for (let i = 0; i < weights.length; i++) weights[i] = (i * 31 + 7) & 0xff;
  return {
    repo,
    commit: createHash('sha1').update(repo).digest('hex'),
    files: {
      'config.json': Buffer.from(
        JSON.stringify({
          architectures: ['LlamaForCausalLM'],
          hidden_size: 64,
          intermediate_size: 128,
          num_hidden_layers: 2,
          num_attention_heads: 4,
          vocab_size: 256,
        }),
      ),
      'tokenizer.json': Buffer.from('{"model":{"type":"BPE","vocab":{},"merges":[]}}'),
      'model.safetensors': weights,
      'pytorch_model.bin': Buffer.from('pickle bytes'),
      'README.md': Buffer.from('# readme\n'),
    },
  };
}
